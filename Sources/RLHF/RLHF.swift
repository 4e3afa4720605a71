// The umbrella module: `import RLHF` brings in the whole toolkit.
@_exported import RLHFFormats
@_exported import RLHFModel
@_exported import RLHFTensor
@_exported import RLHFTokenizer
@_exported import RLHFTraining
