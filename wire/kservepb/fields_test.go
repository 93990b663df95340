package kservepb

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// TestFieldNumbers holds the messages to the Open Inference Protocol's
// field numbers (KServe's grpc_predict_v2.proto; Triton's grpc_service.proto
// shares them), which clients generated from the standard file put on the
// wire: a renumbered field would decode as garbage with no error.
func TestFieldNumbers(t *testing.T) {
	want := map[string]map[string]protoreflect.FieldNumber{
		"inference.ServerLiveResponse":                   {"live": 1},
		"inference.ServerReadyResponse":                  {"ready": 1},
		"inference.ModelReadyRequest":                    {"name": 1, "version": 2},
		"inference.ModelReadyResponse":                   {"ready": 1},
		"inference.ServerMetadataResponse":               {"name": 1, "version": 2, "extensions": 3},
		"inference.ModelMetadataRequest":                 {"name": 1, "version": 2},
		"inference.ModelMetadataResponse":                {"name": 1, "versions": 2, "platform": 3, "inputs": 4, "outputs": 5},
		"inference.ModelMetadataResponse.TensorMetadata": {"name": 1, "datatype": 2, "shape": 3},
		"inference.ModelInferRequest": {"model_name": 1, "model_version": 2, "id": 3, "parameters": 4, "inputs": 5, "outputs": 6,
			"raw_input_contents": 7},
		"inference.ModelInferRequest.InferInputTensor":           {"name": 1, "datatype": 2, "shape": 3, "parameters": 4, "contents": 5},
		"inference.ModelInferRequest.InferRequestedOutputTensor": {"name": 1, "parameters": 2},
		"inference.ModelInferResponse": {"model_name": 1, "model_version": 2, "id": 3, "parameters": 4, "outputs": 5,
			"raw_output_contents": 6},
		"inference.ModelInferResponse.InferOutputTensor": {"name": 1, "datatype": 2, "shape": 3, "parameters": 4, "contents": 5},
		"inference.InferParameter":                       {"bool_param": 1, "int64_param": 2, "string_param": 3, "double_param": 4, "uint64_param": 5},
		"inference.InferTensorContents": {"bool_contents": 1, "int_contents": 2, "int64_contents": 3, "uint_contents": 4,
			"uint64_contents": 5, "fp32_contents": 6, "fp64_contents": 7, "bytes_contents": 8},
	}
	for msg, fields := range want {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(msg))
		if err != nil {
			t.Errorf("message %s: %v", msg, err)
			continue
		}
		md := d.(protoreflect.MessageDescriptor)
		if md.Fields().Len() != len(fields) {
			t.Errorf("message %s has %d fields, the protocol %d", msg, md.Fields().Len(), len(fields))
		}
		for name, num := range fields {
			f := md.Fields().ByName(protoreflect.Name(name))
			if f == nil || f.Number() != num {
				t.Errorf("%s.%s: field %v, want number %d", msg, name, f, num)
			}
		}
	}
	svc := File_grpc_predict_v2_proto.Services().ByName("GRPCInferenceService")
	for _, m := range []string{"ServerLive", "ServerReady", "ModelReady", "ServerMetadata", "ModelMetadata", "ModelInfer"} {
		if svc.Methods().ByName(protoreflect.Name(m)) == nil {
			t.Errorf("service inference.GRPCInferenceService lacks %s", m)
		}
	}
	if got := svc.FullName(); got != "inference.GRPCInferenceService" {
		t.Errorf("service %s, want inference.GRPCInferenceService", got)
	}
}
