package server

import (
	"net"
	"testing"
	"time"
)

// TestPeerClosed checks the disconnect probe on a real TCP pair: a live
// client, a client with a pipelined request waiting, and a closed one.
func TestPeerClosed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	conn := &lingerConn{Conn: server}
	if peerClosed(conn) {
		t.Error("peerClosed of a live, quiet client = true")
	}
	if _, err := client.Write([]byte("GET / HTTP/1.1\r\n")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if peerClosed(conn) {
		t.Error("peerClosed of a client with data waiting = true")
	}
	buf := make([]byte, 64)
	server.Read(buf)
	client.Close()
	deadline := time.Now().Add(5 * time.Second)
	for !peerClosed(conn) {
		if time.Now().After(deadline) {
			t.Fatal("peerClosed of a closed client stayed false")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
