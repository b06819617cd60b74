/** The part of wink-bm25-text-search's API the benchmark uses (the package ships no types). */
declare module "wink-bm25-text-search" {
  interface WinkBm25Engine {
    defineConfig(config: { fldWeights: Record<string, number>; bm25Params?: { k1?: number; b?: number; k?: number } }): boolean;
    definePrepTasks(tasks: ((input: never) => unknown)[], field?: string): number;
    addDoc(doc: Record<string, string>, id: string): number;
    consolidate(fp?: number): boolean;
    search(text: string, limit?: number): [string, number][];
  }
  const createEngine: () => WinkBm25Engine;
  export default createEngine;
}
