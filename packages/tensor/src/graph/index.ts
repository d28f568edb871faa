// Graph IR: types, trace, inference, validation, passes, .tvm serialisation.
export {};
