/**
 * Top-k selection with a binary min-heap, in the order trec_eval ranks a run: score descending,
 * then document id descending (trec_eval re-sorts each query's results by score and breaks ties by
 * comparing document ids with `strcmp`, larger first). Producing that order here means a run cut
 * at k holds exactly the documents trec_eval would rank first.
 */

/** True when document `a` ranks below document `b`. */
function ranksBelow(a: number, b: number, scores: Float64Array, ids: readonly string[]): boolean {
  const sa = scores[a]!;
  const sb = scores[b]!;
  if (sa !== sb) return sa < sb;
  // JS compares UTF-16 code units, strcmp compares UTF-8 bytes: identical order unless ids mix
  // characters above U+FFFF with ones in U+E000–U+FFFF.
  return ids[a]! < ids[b]!;
}

/**
 * The `k` best documents, best first (indices into `scores` and `ids`). With `candidates`, the
 * documents are `candidates[0 … count - 1]`; without, they are the documents `0 … count - 1` whose
 * score is not 0 (a dense scan, cheaper than a candidate list when most documents were scored).
 */
export function topK(
  scores: Float64Array,
  ids: readonly string[],
  k: number,
  candidates: Int32Array | undefined,
  count: number,
): Int32Array {
  const size = Math.min(k, count);
  if (size <= 0) return new Int32Array(0);
  const heap = new Int32Array(size); // heap[0] is the worst document kept
  let n = 0;
  let floor = -Infinity; // score of heap[0] once the heap is full: anything below is rejected at once
  // Two copies of one loop, so that each stays simple for the JIT. Indices are in range by
  // construction, hence the non-null assertions.
  if (candidates === undefined) {
    for (let doc = 0; doc < count; doc++) {
      const s = scores[doc]!;
      if (s === 0 || s < floor) continue;
      if (n < size) {
        siftUp(heap, n++, doc, scores, ids);
        if (n === size) floor = scores[heap[0]!]!;
      } else if (ranksBelow(heap[0]!, doc, scores, ids)) {
        siftDown(heap, n, doc, scores, ids);
        floor = scores[heap[0]!]!;
      }
    }
  } else {
    for (let c = 0; c < count; c++) {
      const doc = candidates[c]!;
      if (scores[doc]! < floor) continue;
      if (n < size) {
        siftUp(heap, n++, doc, scores, ids);
        if (n === size) floor = scores[heap[0]!]!;
      } else if (ranksBelow(heap[0]!, doc, scores, ids)) {
        siftDown(heap, n, doc, scores, ids);
        floor = scores[heap[0]!]!;
      }
    }
  }
  return sortHeap(n < size ? heap.subarray(0, n) : heap, scores, ids);
}

/** Heap sort in place: repeatedly moves the worst to the end, so the array ends up best first. */
function sortHeap(heap: Int32Array, scores: Float64Array, ids: readonly string[]): Int32Array {
  for (let end = heap.length - 1; end > 0; end--) {
    const worst = heap[0]!;
    siftDown(heap, end, heap[end]!, scores, ids);
    heap[end] = worst;
  }
  return heap;
}

/** Adds `doc` at position `i` (the heap's current size) and moves it up to its place. */
function siftUp(heap: Int32Array, i: number, doc: number, scores: Float64Array, ids: readonly string[]): void {
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const p = heap[parent]!;
    if (!ranksBelow(doc, p, scores, ids)) break;
    heap[i] = p;
    i = parent;
  }
  heap[i] = doc;
}

/** Puts `doc` at the root of the heap `heap[0 … n - 1]` and restores the heap order. */
function siftDown(heap: Int32Array, n: number, doc: number, scores: Float64Array, ids: readonly string[]): void {
  let i = 0;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= n) break;
    const right = left + 1;
    let child = left;
    if (right < n && ranksBelow(heap[right]!, heap[left]!, scores, ids)) child = right;
    const c = heap[child]!;
    if (!ranksBelow(c, doc, scores, ids)) break;
    heap[i] = c;
    i = child;
  }
  heap[i] = doc;
}
