package messages

//go:generate sh -c "protoc --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) --go_out=. --go_opt=paths=source_relative status.proto socket.proto tcp.proto udp.proto node.proto poller.proto"
