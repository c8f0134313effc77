package peerexchange

import (
	"errors"
	"fmt"

	"github.com/ethereum/go-ethereum/p2p/enode"
	"github.com/ethereum/go-ethereum/p2p/enr"
	"github.com/ethereum/go-ethereum/rlp"
	"google.golang.org/protobuf/proto"

	"github.com/rlnd/rlnd/wire"
	pb "github.com/rlnd/rlnd/wire/pb/peerexchangepb"
)

// Errors of decoding, wrapped by the server's 400 descriptions and the
// client's errors.
var (
	// ErrBadRequest: a request the server cannot read (malformed, over
	// MaxRequestSize, or without a query).
	ErrBadRequest = errors.New("peerexchange: bad request")
	// ErrMalformedResponse: an answer that is not a PeerExchangeRPC with a
	// response (field 2).
	ErrMalformedResponse = errors.New("peerexchange: malformed response")
	// ErrResponseTooLarge: an answer frame over MaxResponseSize.
	ErrResponseTooLarge = errors.New("peerexchange: response too large")
	// ErrTooManyRecords: an answer with more records than asked for.
	ErrTooManyRecords = errors.New("peerexchange: too many records")
	// ErrBadRecord: a record that is not a signed v4 ENR of at most
	// MaxRecordSize bytes. The client skips such records, and fails with
	// it only when an answer has records and none of them is good.
	ErrBadRecord = errors.New("peerexchange: bad record")
)

// encodeRequest is the frame of a query for numPeers records. js-waku and
// go-waku send only field 1 as well; nwaku adds an empty response.
func encodeRequest(numPeers uint64) ([]byte, error) {
	return wire.EncodeFrame(&pb.PeerExchangeRPC{Query: &pb.PeerExchangeQuery{NumPeers: proto.Uint64(numPeers)}})
}

// decodeRequest reads a request's body (the frame's contents): the number
// of records asked for. A response beside the query (nwaku sends an empty
// one) is ignored; a missing num_peers reads as 0, as in proto3.
func decodeRequest(b []byte) (numPeers uint64, err error) {
	if len(b) > MaxRequestSize {
		return 0, fmt.Errorf("%w: %d bytes, at most %d", ErrBadRequest, len(b), MaxRequestSize)
	}
	var rpc pb.PeerExchangeRPC
	if err := wire.Decode(b, &rpc); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrBadRequest, err)
	}
	if rpc.Query == nil {
		return 0, fmt.Errorf("%w: no query (PeerExchangeRPC field 1)", ErrBadRequest)
	}
	return rpc.Query.GetNumPeers(), nil
}

// encodeResponse is the frame of an answer. It carries field 1 (an empty
// query) and a status code, which nwaku's decoder requires; a description
// only when there is one (nwaku sends none with 200).
func encodeResponse(records [][]byte, code StatusCode, desc string) ([]byte, error) {
	resp := &pb.PeerExchangeResponse{StatusCode: proto.Uint32(uint32(code))}
	if desc != "" {
		resp.StatusDesc = proto.String(desc)
	}
	if len(records) > 0 {
		resp.PeerInfos = make([]*pb.PeerInfo, len(records))
		for i, r := range records {
			resp.PeerInfos[i] = &pb.PeerInfo{Enr: r}
		}
	}
	return wire.EncodeFrame(&pb.PeerExchangeRPC{Query: &pb.PeerExchangeQuery{NumPeers: proto.Uint64(0)}, Response: resp})
}

// StatusError is an answer with a status code other than 200. It wraps
// ErrRefused.
type StatusError struct {
	Code        StatusCode
	Description string
}

// ErrRefused is wrapped by every StatusError.
var ErrRefused = errors.New("peerexchange: request refused")

func (e *StatusError) Error() string {
	if e.Description == "" {
		return fmt.Sprintf("peerexchange: request refused: %d %s", uint32(e.Code), e.Code)
	}
	return fmt.Sprintf("peerexchange: request refused: %d %s: %s", uint32(e.Code), e.Code, e.Description)
}

func (e *StatusError) Unwrap() error { return ErrRefused }

// decodeResponse reads an answer's body (the frame's contents) to a query
// for numPeers records and returns the good records, in the order sent.
//
//   - No response (field 2), or bytes that are no PeerExchangeRPC:
//     ErrMalformedResponse.
//   - A status code other than 200: *StatusError. An answer without one
//     is a success (js-waku has no server; go-waku and older nwaku send
//     none).
//   - More than numPeers records: ErrTooManyRecords, none returned (a
//     server that ignores the count is not trusted with the rest).
//   - A bad record (not RLP, over MaxRecordSize, no v4 signature that
//     verifies) is skipped, as nwaku's client does; a second record of the
//     same node too. When records were sent and none is good, the answer
//     fails with ErrBadRecord (wrapping the first record's fault).
func decodeResponse(b []byte, numPeers int) ([]*enode.Node, error) {
	if len(b) > MaxResponseSize {
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrResponseTooLarge, len(b), MaxResponseSize)
	}
	var rpc pb.PeerExchangeRPC
	if err := wire.Decode(b, &rpc); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformedResponse, err)
	}
	resp := rpc.GetResponse()
	if resp == nil {
		return nil, fmt.Errorf("%w: no response (PeerExchangeRPC field 2)", ErrMalformedResponse)
	}
	if resp.StatusCode != nil && StatusCode(resp.GetStatusCode()) != StatusOK {
		return nil, &StatusError{Code: StatusCode(resp.GetStatusCode()), Description: resp.GetStatusDesc()}
	}
	infos := resp.GetPeerInfos()
	if len(infos) > numPeers {
		return nil, fmt.Errorf("%w: %d records, asked for %d", ErrTooManyRecords, len(infos), numPeers)
	}
	nodes := make([]*enode.Node, 0, len(infos))
	seen := make(map[enode.ID]struct{}, len(infos))
	var firstBad error
	for i, info := range infos {
		n, err := decodeRecord(info.GetEnr())
		if err != nil {
			if firstBad == nil {
				firstBad = fmt.Errorf("record %d of %d: %w", i+1, len(infos), err)
			}
			continue
		}
		if _, dup := seen[n.ID()]; dup {
			continue
		}
		seen[n.ID()] = struct{}{}
		nodes = append(nodes, n)
	}
	if len(nodes) == 0 && firstBad != nil {
		return nil, fmt.Errorf("%w: none of the %d records is good; %w", ErrBadRecord, len(infos), firstBad)
	}
	return nodes, nil
}

// decodeRecord decodes one ENR and checks its signature (v4 scheme); its
// errors say what is wrong with the record (decodeResponse wraps them in
// ErrBadRecord).
func decodeRecord(b []byte) (*enode.Node, error) {
	if len(b) == 0 {
		return nil, errors.New("empty")
	}
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("%d bytes, at most %d", len(b), MaxRecordSize)
	}
	var r enr.Record
	if err := rlp.DecodeBytes(b, &r); err != nil {
		return nil, fmt.Errorf("not an RLP-encoded ENR: %w", err)
	}
	n, err := enode.New(enode.ValidSchemes, &r)
	if err != nil {
		return nil, fmt.Errorf("no valid v4 signature: %w", err)
	}
	return n, nil
}
