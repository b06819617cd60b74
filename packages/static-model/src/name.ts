/**
 * The model's name, alone: also the entry bundlers pick under the "browser" export condition (a
 * browser page fetches the model files itself; the folder, manifest and checks need Node).
 */

/** The name that picks this model wherever an encoder is named (`--encoder crossrank-static`). */
export const STATIC_MODEL_NAME = "crossrank-static";
