// Package kservepb is the KServe v2 / Open Inference Protocol gRPC API
// (service inference.GRPCInferenceService), generated from
// grpc_predict_v2.proto by protoc-gen-go and protoc-gen-go-grpc. The
// generated files are committed, so building predictd needs no protoc;
// scripts/gen-kservepb.sh regenerates them with the pinned generator
// versions it lists. Do not edit the *.pb.go files by hand.
//
// wire.DecodeInferProto and wire.InferProto translate its messages to and
// from wire.Request; server serves it beside HTTP.
package kservepb

//go:generate ../../scripts/gen-kservepb.sh
