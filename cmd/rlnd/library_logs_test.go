package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	gethlog "github.com/ethereum/go-ethereum/log"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/rlnd/rlnd/p2p"
)

// libraryLogsHelper marks the child process of TestLibraryLogsGoThroughNodeHandler.
const libraryLogsHelper = "RLND_TEST_LIBRARY_LOGS_CHILD"

// go-libp2p's and go-ethereum's own records come out of the node's JSON
// handler at its level. The libraries bind their handlers once per
// process, at their first record, so the check runs in a fresh child
// process (this test binary again), as `rlnd node` does at its start.
func TestLibraryLogsGoThroughNodeHandler(t *testing.T) {
	if os.Getenv(libraryLogsHelper) == "1" {
		libraryLogsChild(t)
		return
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestLibraryLogsGoThroughNodeHandler$", "-test.count=1")
	cmd.Env = append(os.Environ(), libraryLogsHelper+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	var libp2p, geth bool
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var rec map[string]any
		if json.Unmarshal(sc.Bytes(), &rec) != nil {
			continue // the test framework's own lines
		}
		if _, ok := rec["logger"]; ok {
			libp2p = true
		}
		if rec["msg"] == "go-ethereum root logger" {
			geth = true
		}
	}
	if !libp2p {
		t.Errorf("no go-libp2p record (with its \"logger\" subsystem) in the node's JSON output:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	if !geth {
		t.Errorf("no go-ethereum record in the node's JSON output:\n%s", stdout.String())
	}
}

// libraryLogsChild routes the libraries' logs to a JSON handler on stdout
// at debug, then makes each library log: two hosts connect (go-libp2p's
// swarm logs the streams it opens at debug) and go-ethereum's root logger
// writes one record.
func libraryLogsChild(t *testing.T) {
	routeLibraryLogs(slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelDebug})))
	gethlog.Root().Info("go-ethereum root logger")
	a, err := p2p.NewHost(p2p.HostConfig{ClusterID: 1, Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := p2p.NewHost(p2p.HostConfig{ClusterID: 1, Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Libp2p().Addrs()}); err != nil {
		t.Fatal(err)
	}
}
