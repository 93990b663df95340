package server

import (
	"context"
	"math"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/predictd/predictd/wire/kservepb"
)

// grpcTxRequest is rows as per-input gRPC tensors: FP64 contents for
// numbers, BYTES contents for strings.
func grpcTxRequest(model string, names []string, rows []txRow) *kservepb.ModelInferRequest {
	m := &kservepb.ModelInferRequest{ModelName: model}
	for _, n := range names {
		in := &kservepb.ModelInferRequest_InferInputTensor{Name: n, Shape: []int64{int64(len(rows))}, Contents: &kservepb.InferTensorContents{}}
		for _, r := range rows {
			switch v := r[n].(type) {
			case float64:
				in.Datatype = "FP64"
				in.Contents.Fp64Contents = append(in.Contents.Fp64Contents, v)
			case string:
				in.Datatype = "BYTES"
				in.Contents.BytesContents = append(in.Contents.BytesContents, []byte(v))
			}
		}
		m.Inputs = append(m.Inputs, in)
	}
	return m
}

// TestGRPCTransform: a version with transforms (raw numbers and category
// strings in, the version's transform applied) answers a gRPC ModelInfer
// with per-input FP64 and BYTES tensors exactly what model.TransformRow and
// the payload's Predict give on the same rows, as the HTTP API does
// (TestTransformPredict); a number sent for a category is InvalidArgument
// naming the input, as HTTP's 400.
func TestGRPCTransform(t *testing.T) {
	s, repo := txServer(t, DefaultOptions(), nil)
	c := grpcClient(t, s)
	rows := txRows[1:] // no missing values: typed gRPC contents have no null
	for _, m := range []struct {
		name  string
		names []string
	}{{"txlin", txLinInputs}, {"txtrees", txTreesInputs}} {
		want := txWant(t, repo, m.name, m.names, rows)
		resp, err := c.ModelInfer(context.Background(), grpcTxRequest(m.name, m.names, rows))
		if err != nil {
			t.Fatalf("%s: ModelInfer: %v", m.name, err)
		}
		if len(resp.Outputs) != 1 {
			t.Fatalf("%s: %d outputs, want 1", m.name, len(resp.Outputs))
		}
		got := resp.Outputs[0].GetContents().GetFp64Contents()
		if len(got) != len(want) {
			t.Fatalf("%s: got %v, want %v", m.name, got, want)
		}
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Errorf("%s: instance %d = %v, want %v (TransformRow + Predict)", m.name, i, got[i], want[i])
			}
		}
	}

	// The country as a number: refused, naming the input.
	bad := grpcTxRequest("txlin", txLinInputs, rows)
	bad.Inputs[2].Datatype = "FP64"
	bad.Inputs[2].Contents = &kservepb.InferTensorContents{Fp64Contents: make([]float64, len(rows))}
	_, err := c.ModelInfer(context.Background(), bad)
	if st, _ := status.FromError(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "country") {
		t.Errorf("country sent as FP64: %v, want InvalidArgument naming country", err)
	}
}
