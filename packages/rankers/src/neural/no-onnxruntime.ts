/**
 * What `#onnxruntime-node` is in a browser bundle (package.json "imports", "browser" condition):
 * a module that fails to load, so that the rankers' optional onnxruntime paths (MaxSim's and
 * dense scoring's sessions) fall back to JavaScript or say why, without the page fetching a Node
 * module.
 */
throw new Error("onnxruntime-node runs in Node only: not in a browser");
