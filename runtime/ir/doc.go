// Package ir is edge's graph intermediate representation: host tensors,
// shapes, nodes with typed attributes and the graph that holds them.
//
// Layout: tensors are dense and row-major (C order); image tensors are
// NCHW. Precision: float32 for activations and weights; int64, int32 and
// bool for shape arithmetic and indices. Float16 and float64 initializers
// are converted to float32 by the importer.
//
// Threading: IR values are plain data. A Graph is not modified after a
// model is loaded; sessions only read it, so any number may share one.
package ir
