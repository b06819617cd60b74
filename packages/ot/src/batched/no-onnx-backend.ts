/**
 * What `#onnx-backend` is in a browser bundle (package.json "imports", "browser" condition): a
 * module that fails to load, so the `onnx` backend is unavailable there (onnxruntime-node is a
 * Node addon) and `auto` picks another without the page fetching a Node module.
 */
throw new Error("the onnx backend runs on onnxruntime-node, in Node only: not in a browser");
