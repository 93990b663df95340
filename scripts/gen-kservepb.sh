#!/bin/sh
# Regenerates wire/kservepb's Go code from wire/kservepb/grpc_predict_v2.proto.
# The generated files are committed: building and testing predictd needs no protoc.
#
# Versions used for the committed files:
#   protoc              libprotoc 3.21.12 (Debian 12: apt-get install protobuf-compiler)
#   protoc-gen-go       v1.36.12 (go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12)
#   protoc-gen-go-grpc  v1.5.1   (go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1)
# Debian's own protoc-gen-go (1.28) and protoc-gen-go-grpc (1.0) are older than the
# runtime in go.mod (protobuf v1.36.12, grpc v1.85.0), hence the go install.
set -eu
cd "$(dirname "$0")/../wire/kservepb"
protoc --proto_path=. \
	--go_out=. --go_opt=paths=source_relative \
	--go-grpc_out=. --go-grpc_opt=paths=source_relative \
	grpc_predict_v2.proto
