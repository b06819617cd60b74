export { attr, encodeModel, GraphBuilder, ONNX_DATA_TYPE, tensor, type EncodeModelOptions, type OnnxAttribute, type OnnxAttributes, type OnnxDim, type OnnxElementType, type OnnxTensor, type OnnxTensorData } from "./onnx-graph.js";
export { type OnnxGraphInfo, type OnnxNodeInfo, type OnnxTensorInfo, readOnnxGraph, withGraphOutputs } from "./onnx-read.js";
