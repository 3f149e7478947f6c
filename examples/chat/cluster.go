package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/actornet/actornet/actors"
	"github.com/actornet/actornet/examples/chat/chatroom"
)

// gatherWait bounds how long a node waits for every seed to be a member
// before it serves.
const gatherWait = 3 * time.Second

// clusterName is the Proto.Actor cluster the chat nodes form.
const clusterName = "actornet-chat"

// childEnv marks a node started by the default run.
const childEnv = "ACTORNET_CHAT_CHILD"

// roomName is the room every node serves.
const roomName = "lobby"

// runNode is the cluster mode: one node of the chat cluster, serving
// cfg.listen until interrupted; over mutual TLS with cfg.ca, cfg.cert
// and cfg.key. It prints what the demo's parent reads:
//
//	NODE <node address> LISTEN <chat address>
//	MEMBERS <n>        (whenever the node's view of the membership changes)
//	ROOM <address>     (whenever the node's door finds the room elsewhere)
func runNode(cfg config, out io.Writer) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Getenv(childEnv) != "" {
		// A node of the default run ends with its parent, however the
		// parent ends: its stdin is a pipe from the parent.
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			stop()
		}()
	}
	var seeds []string
	if cfg.seeds != "" {
		seeds = strings.Split(cfg.seeds, ",")
	}
	// Warnings too: a seed that does not answer (or refuses this node's
	// certificate) and refused requests are worth an operator's eye.
	warn := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	opts := []actors.Option{actors.WithLogger(warn), actors.WithCluster(actors.ClusterConfig{
		Name:  clusterName,
		Node:  cfg.node,
		Seeds: seeds,
		Kinds: chatroom.Kinds(),
	})}
	if cfg.ca != "" || cfg.cert != "" || cfg.key != "" {
		if cfg.ca == "" || cfg.cert == "" || cfg.key == "" {
			return fmt.Errorf("mutual TLS needs all of -ca, -cert and -key")
		}
		sec, err := actors.MutualTLSFiles(cfg.cert, cfg.key, cfg.ca)
		if err != nil {
			return err
		}
		opts = append(opts, actors.WithRemoteTLS(sec))
	}
	sys, err := actors.Start(opts...)
	if err != nil {
		return err
	}
	defer sys.StopNow()
	// Let the seeds gather (for at most gatherWait) before the room is
	// looked up: a node alone would activate the room on itself, and keep
	// it while the others, joined a moment later, ask its owner on the
	// full ring for another.
	gather, cancel := context.WithTimeout(ctx, gatherWait)
	_ = sys.WaitMembers(gather, len(seeds)) // past it, serve with the members there are
	cancel()
	listen := cfg.listen
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	srv, err := chatroom.Serve(ctx, sys, listen, roomName)
	if err != nil {
		return err
	}
	defer srv.Close(context.Background())
	fmt.Fprintf(out, "NODE %s LISTEN %s\n", sys.Address(), srv.Listener().Addr())
	// Report the membership and the room's place as they change: the
	// demo's parent waits on these lines.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	members, room := -1, ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if n := len(sys.Members()); n != members {
			members = n
			fmt.Fprintf(out, "MEMBERS %d\n", n)
		}
		wctx, cancel := context.WithTimeout(ctx, time.Second)
		pid, err := srv.Room(wctx)
		cancel()
		if err == nil && pid != nil && pid.Address != room {
			room = pid.Address
			fmt.Fprintf(out, "ROOM %s\n", room)
		}
	}
}
