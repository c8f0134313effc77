package gossipsub

import (
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire/pb/gossipsubpb"
)

// idChunk bounds the ids of one IHAVE, IWANT or IDONTWANT entry in a split
// RPC, so that a long list can be spread over frames.
const idChunk = 512

// rpcSize is the size of an RPC carrying m alone.
func rpcSize(m *gossipsubpb.Message) int {
	return proto.Size(&gossipsubpb.RPC{Publish: []*gossipsubpb.Message{m}})
}

// splitRPC splits rpc into RPCs whose encoding fits max bytes, keeping the
// order of subscriptions, messages and control entries. Each piece is
// sized on its own as a whole RPC, which overestimates a merged RPC, so
// every part fits. A single message larger than max goes alone in its part
// (the caller bounds message size).
func splitRPC(rpc *gossipsubpb.RPC, max int) []*gossipsubpb.RPC {
	if proto.Size(rpc) <= max {
		return []*gossipsubpb.RPC{rpc}
	}
	var parts []*gossipsubpb.RPC
	cur, size := &gossipsubpb.RPC{}, 0
	add := func(piece *gossipsubpb.RPC, merge func(dst *gossipsubpb.RPC)) {
		n := proto.Size(piece)
		if size > 0 && size+n > max {
			parts = append(parts, cur)
			cur, size = &gossipsubpb.RPC{}, 0
		}
		merge(cur)
		size += n
	}
	ctl := func(dst *gossipsubpb.RPC) *gossipsubpb.ControlMessage {
		if dst.Control == nil {
			dst.Control = &gossipsubpb.ControlMessage{}
		}
		return dst.Control
	}
	for _, s := range rpc.Subscriptions {
		add(&gossipsubpb.RPC{Subscriptions: []*gossipsubpb.SubOpts{s}}, func(d *gossipsubpb.RPC) {
			d.Subscriptions = append(d.Subscriptions, s)
		})
	}
	for _, m := range rpc.Publish {
		add(&gossipsubpb.RPC{Publish: []*gossipsubpb.Message{m}}, func(d *gossipsubpb.RPC) {
			d.Publish = append(d.Publish, m)
		})
	}
	c := rpc.GetControl()
	for _, ih := range c.GetIhave() {
		for _, ids := range chunks(ih.MessageIds) {
			e := &gossipsubpb.ControlIHave{TopicId: ih.TopicId, MessageIds: ids}
			add(&gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Ihave: []*gossipsubpb.ControlIHave{e}}}, func(d *gossipsubpb.RPC) {
				ctl(d).Ihave = append(ctl(d).Ihave, e)
			})
		}
	}
	for _, iw := range c.GetIwant() {
		for _, ids := range chunks(iw.MessageIds) {
			e := &gossipsubpb.ControlIWant{MessageIds: ids}
			add(&gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Iwant: []*gossipsubpb.ControlIWant{e}}}, func(d *gossipsubpb.RPC) {
				ctl(d).Iwant = append(ctl(d).Iwant, e)
			})
		}
	}
	for _, g := range c.GetGraft() {
		add(&gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Graft: []*gossipsubpb.ControlGraft{g}}}, func(d *gossipsubpb.RPC) {
			ctl(d).Graft = append(ctl(d).Graft, g)
		})
	}
	for _, p := range c.GetPrune() {
		add(&gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Prune: []*gossipsubpb.ControlPrune{p}}}, func(d *gossipsubpb.RPC) {
			ctl(d).Prune = append(ctl(d).Prune, p)
		})
	}
	for _, dw := range c.GetIdontwant() {
		for _, ids := range chunks(dw.MessageIds) {
			e := &gossipsubpb.ControlIDontWant{MessageIds: ids}
			add(&gossipsubpb.RPC{Control: &gossipsubpb.ControlMessage{Idontwant: []*gossipsubpb.ControlIDontWant{e}}}, func(d *gossipsubpb.RPC) {
				ctl(d).Idontwant = append(ctl(d).Idontwant, e)
			})
		}
	}
	if size > 0 {
		parts = append(parts, cur)
	}
	return parts
}

func chunks(ids [][]byte) [][][]byte {
	if len(ids) <= idChunk {
		return [][][]byte{ids}
	}
	var out [][][]byte
	for len(ids) > idChunk {
		out = append(out, ids[:idChunk])
		ids = ids[idChunk:]
	}
	if len(ids) > 0 {
		out = append(out, ids)
	}
	return out
}
