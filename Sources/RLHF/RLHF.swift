// The umbrella module: `import RLHF` brings in the whole toolkit.
@_exported import RLHFAlignment
@_exported import RLHFData
@_exported import RLHFEvaluation
@_exported import RLHFExperiments
@_exported import RLHFFormats
@_exported import RLHFModel
@_exported import RLHFRollouts
@_exported import RLHFTensor
@_exported import RLHFTokenizer
@_exported import RLHFTraining
