package chatroom

//go:generate sh -c "protoc --plugin=protoc-gen-go=$(go tool -n protoc-gen-go) -I. -I../../../messages --go_out=. --go_opt=paths=source_relative chatroom.proto"
