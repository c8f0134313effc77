package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/consensys/gnark-crypto/ecc/bn254/fr"
	"github.com/spf13/cobra"

	"github.com/rlnd/rlnd/interop"
	"github.com/rlnd/rlnd/rln"
	"github.com/rlnd/rlnd/rln/artefacts"
)

// benchResult is what `rlnd rln bench --json` prints.
type benchResult struct {
	Runs                    int     `json:"runs"`
	ProveMsP50              float64 `json:"prove_ms_p50"`
	ProveMsP99              float64 `json:"prove_ms_p99"`
	ProveColdMsP50          float64 `json:"prove_cold_ms_p50"`
	VerifyMsP50             float64 `json:"verify_ms_p50"`
	Batch64VerifyMsPerProof float64 `json:"batch64_verify_ms_per_proof"`
	ZerokitProveMsP50       float64 `json:"zerokit_prove_ms_p50,omitempty"`
	ZerokitVerifyMsP50      float64 `json:"zerokit_verify_ms_p50,omitempty"`
	ProveSpeedup            float64 `json:"prove_speedup_vs_zerokit,omitempty"`
	// ZerokitUnavailable says why zerokit was not measured, when it
	// could not be (no Node.js, no harness packages).
	ZerokitUnavailable string  `json:"zerokit_unavailable,omitempty"`
	MaxRSSMB           float64 `json:"max_rss_mb"`
	CPU                string  `json:"cpu"`
	Cores              int     `json:"cores"`
	GoVersion          string  `json:"go"`
}

func newRLNBenchCmd(env []string) *cobra.Command {
	var (
		asJSON     bool
		runs       int
		dir        string
		interopDir string
		noPeer     bool
	)
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure proof generation and verification beside zerokit",
		Long: "Measure RLN proof generation (witness included) for a member's next message and for\n" +
			"a new member, single verification and batch verification of 64 proofs, as medians\n" +
			"over --runs runs, and zerokit's prove and verify (@waku/zerokit-rln-wasm under\n" +
			"Node.js, given the same witness) in the same run. When zerokit cannot run here (no\n" +
			"node on PATH, no harness packages in --interop's node_modules) it says so in one line\n" +
			"before it starts and measures rlnd alone.",
		Example: "  rlnd rln bench\n  rlnd rln bench --json --runs 30\n  rlnd rln bench --no-peer --runs 10",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := flagRange("runs", runs, 1, maxBenchRuns); err != nil {
				return err
			}
			progress := cmd.ErrOrStderr()
			if asJSON {
				progress = io.Discard
			}
			loc, err := artefacts.Resolve(cmd.Context(), artefactsOptions(env, dir, progress))
			if err != nil {
				return err
			}
			dir = loc.Dir
			// Whether zerokit can run is known before anything is
			// measured: without it rlnd is measured alone.
			var peerDir string
			var unavailable error
			if !noPeer {
				if peerDir, unavailable = zerokitHarness(interopDir); unavailable != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "rlnd: zerokit comparison unavailable, measuring rlnd alone: %v\n", unavailable)
				}
			}
			res, err := runRLNBench(cmd.Context(), progress, dir, peerDir, runs)
			if res == nil {
				return err
			}
			if unavailable != nil {
				res.ZerokitUnavailable = unavailable.Error()
			}
			out := cmd.OutOrStdout()
			if asJSON {
				if jerr := json.NewEncoder(out).Encode(res); jerr != nil {
					return jerr
				}
				return err
			}
			fmt.Fprintf(out, "RLN benchmark: %d runs, medians (%s, %d cores, %s)\n", res.Runs, res.CPU, res.Cores, res.GoVersion)
			fmt.Fprintf(out, "  prove, member's next msg   %8.2f ms   (p99 %.2f ms; witness included)\n", res.ProveMsP50, res.ProveMsP99)
			fmt.Fprintf(out, "  prove, new member or path  %8.2f ms\n", res.ProveColdMsP50)
			fmt.Fprintf(out, "  verify                     %8.3f ms\n", res.VerifyMsP50)
			fmt.Fprintf(out, "  batch of 64, per proof     %8.3f ms\n", res.Batch64VerifyMsPerProof)
			if res.ZerokitProveMsP50 > 0 {
				fmt.Fprintf(out, "  zerokit-wasm prove         %8.2f ms   (rlnd %.1fx faster)\n", res.ZerokitProveMsP50, res.ProveSpeedup)
				fmt.Fprintf(out, "  zerokit-wasm verify        %8.3f ms\n", res.ZerokitVerifyMsP50)
			}
			if res.ZerokitUnavailable != "" {
				fmt.Fprintf(out, "  zerokit-wasm               not measured: %s\n", res.ZerokitUnavailable)
			}
			fmt.Fprintf(out, "  max RSS                    %8.1f MB\n", res.MaxRSSMB)
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().IntVar(&runs, "runs", 30, fmt.Sprintf("runs per measurement, 1 to %d (medians are reported)", maxBenchRuns))
	cmd.Flags().StringVar(&dir, "artefacts", "", "RLN artefacts folder, the only one looked at (default: the one \"rlnd rln artefacts path\" names, fetched on first use)")
	cmd.Flags().StringVar(&interopDir, "interop", "", "folder of the Node.js zerokit harness (default ./interop of the checkout)")
	cmd.Flags().BoolVar(&noPeer, "no-peer", false, "skip the zerokit measurement")
	return cmd
}

// maxBenchRuns bounds --runs: zerokit takes about 3 s a proof, so 1,000
// runs are most of an hour already.
const maxBenchRuns = 1000

func median(xs []float64) float64 { return percentile(xs, 50) }

func percentile(xs []float64, p float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	i := int(float64(len(s)-1)*p/100 + 0.5)
	return s[i]
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Nanoseconds()) / 1e6 }

func randomMember() (rln.Identity, []fr.Element, []uint8, error) {
	id, err := rln.NewIdentity(rand.Reader)
	if err != nil {
		return id, nil, nil, err
	}
	path := make([]fr.Element, rln.TreeDepth)
	idx := make([]uint8, rln.TreeDepth)
	for i := range path {
		if _, err := path[i].SetRandom(); err != nil {
			return id, nil, nil, err
		}
		idx[i] = uint8(i % 2)
	}
	return id, path, idx, nil
}

// zerokitHarness finds the zerokit harness's folder (interopDir, or
// ./interop of the checkout) and checks that it can run there; the error
// says why not.
func zerokitHarness(interopDir string) (string, error) {
	if interopDir == "" {
		d, err := interop.Dir()
		if err != nil {
			return "", fmt.Errorf("%w (give --interop DIR)", err)
		}
		interopDir = d
	}
	if err := interop.CheckRLN(interopDir); err != nil {
		return "", err
	}
	return interopDir, nil
}

// runRLNBench loads the prover and verifier from dir and measures, runs
// times each: proving for new members, proving a member's next messages,
// verifying, batch verifying, and zerokit beside them with the harness in
// peerDir (""; none). Progress goes to progress. A zerokit failure comes
// with rlnd's figures.
func runRLNBench(ctx context.Context, progress io.Writer, dir, peerDir string, runs int) (*benchResult, error) {
	fmt.Fprintf(progress, "loading artefacts from %s\n", dir)
	prover, err := rln.LoadProver(dir, rln.WakuRLNIdentifier)
	if err != nil {
		return nil, err
	}
	verifier, err := rln.LoadVerifier(dir, rln.WakuRLNIdentifier)
	if err != nil {
		return nil, err
	}
	id, path, idx, err := randomMember()
	if err != nil {
		return nil, err
	}
	signal := rln.Signal(rln.SignalTimestamped, []byte("benchmark payload"), "/rlnd/1/bench/proto", time.Now().UnixNano())
	req := &rln.ProveRequest{Secret: id.Secret, UserMessageLimit: 100, MessageID: 7, PathElements: path,
		PathIndices: idx, Epoch: rln.Epoch(time.Now(), 600*time.Second), X: rln.SignalHash(signal)}

	res := &benchResult{Runs: runs, CPU: cpuModel(), Cores: runtime.NumCPU(), GoVersion: runtime.Version()}
	if res.ProveColdMsP50, err = benchProveCold(progress, prover, req, runs); err != nil {
		return nil, err
	}
	if res.ProveMsP50, res.ProveMsP99, err = benchProve(progress, prover, req, signal, runs); err != nil {
		return nil, err
	}
	if res.VerifyMsP50, err = benchVerify(progress, prover, verifier, req, runs); err != nil {
		return nil, err
	}
	if res.Batch64VerifyMsPerProof, err = benchBatchVerify(progress, prover, verifier, req, signal, runs); err != nil {
		return nil, err
	}
	res.MaxRSSMB = maxRSSMB()

	if peerDir != "" {
		if err := zerokitBench(ctx, progress, res, prover, req, id, path, idx, signal, dir, peerDir, runs); err != nil {
			return res, fmt.Errorf("zerokit peer (use --no-peer to skip): %w", err)
		}
	}
	return res, nil
}

// benchProveCold returns the median time of runs proofs, each for a new
// random member: a member the prover has not proved for (or whose Merkle
// path changed), so the member's part of the work is done too.
func benchProveCold(progress io.Writer, prover *rln.Prover, req *rln.ProveRequest, runs int) (float64, error) {
	fmt.Fprintf(progress, "proving %d times for new members\n", runs)
	cold := make([]float64, runs)
	for i := range cold {
		oid, opath, oidx, err := randomMember()
		if err != nil {
			return 0, err
		}
		r := *req
		r.Secret, r.PathElements, r.PathIndices = oid.Secret, opath, oidx
		t := time.Now()
		if _, err := prover.Prove(&r, rand.Reader); err != nil {
			return 0, err
		}
		cold[i] = msSince(t)
	}
	return median(cold), nil
}

// benchProve returns the median and 99th percentile time of proof
// generation, witness included, for req's member sending new messages (a
// new signal and message id each run), after one proof for that member.
func benchProve(progress io.Writer, prover *rln.Prover, req *rln.ProveRequest, signal []byte, runs int) (p50, p99 float64, err error) {
	fmt.Fprintf(progress, "proving %d messages of one member\n", runs)
	if _, err := prover.Prove(req, rand.Reader); err != nil {
		return 0, 0, err
	}
	prove := make([]float64, runs)
	for i := range prove {
		r := *req
		r.MessageID = uint64(i) % r.UserMessageLimit
		r.X = rln.SignalHash(append(signal, byte(i), byte(i>>8)))
		t := time.Now()
		if _, err := prover.Prove(&r, rand.Reader); err != nil {
			return 0, 0, err
		}
		prove[i] = msSince(t)
	}
	return median(prove), percentile(prove, 99), nil
}

// benchVerify proves req and returns the median time of runs verifications
// of that proof.
func benchVerify(progress io.Writer, prover *rln.Prover, verifier *rln.Verifier, req *rln.ProveRequest, runs int) (float64, error) {
	proof, err := prover.Prove(req, rand.Reader)
	if err != nil {
		return 0, err
	}
	fmt.Fprintf(progress, "verifying %d times\n", runs)
	verify := make([]float64, runs)
	for i := range verify {
		t := time.Now()
		if err := verifier.Verify(proof, req.X); err != nil {
			return 0, fmt.Errorf("benchmark proof rejected: %w", err)
		}
		verify[i] = msSince(t)
	}
	return median(verify), nil
}

// benchBatchVerify proves 64 messages of req's member and returns the
// median time per proof of verifying them as one batch, over runs runs.
func benchBatchVerify(progress io.Writer, prover *rln.Prover, verifier *rln.Verifier, req *rln.ProveRequest, signal []byte, runs int) (float64, error) {
	fmt.Fprintf(progress, "proving 64 messages for the batch\n")
	const batch = 64
	proofs := make([]*rln.RateLimitProof, batch)
	xs := make([]fr.Element, batch)
	var err error
	for i := range proofs {
		r := *req
		r.MessageID = uint64(i)
		r.X = rln.SignalHash(append(signal, byte(i)))
		if proofs[i], err = prover.Prove(&r, rand.Reader); err != nil {
			return 0, err
		}
		xs[i] = r.X
	}
	fmt.Fprintf(progress, "verifying the batch %d times\n", runs)
	perProof := make([]float64, runs)
	for i := range perProof {
		t := time.Now()
		for j, e := range verifier.VerifyBatch(proofs, xs) {
			if e != nil {
				return 0, fmt.Errorf("batch proof %d rejected: %w", j, e)
			}
		}
		perProof[i] = msSince(t) / batch
	}
	return median(perProof), nil
}

func zerokitBench(ctx context.Context, progress io.Writer, res *benchResult, prover *rln.Prover, req *rln.ProveRequest,
	id rln.Identity, path []fr.Element, idx []uint8, signal []byte, dir, interopDir string, runs int) error {
	h, err := interop.Start(ctx, interopDir)
	if err != nil {
		return err
	}
	defer h.Close()
	fmt.Fprintf(progress, "starting zerokit-wasm\n")
	if err := h.Call(map[string]any{"op": "init", "zkey": filepath.Join(dir, artefacts.ZKey), "vkey": filepath.Join(dir, artefacts.VKey)}, nil); err != nil {
		return err
	}
	w, err := prover.Witness(req)
	if err != nil {
		return err
	}
	_, identifier := rln.Identifier(rln.WakuRLNIdentifier)
	inputs := interop.RLNInputs{IdentitySecret: id.Secret, UserMessageLimit: req.UserMessageLimit, MessageID: req.MessageID,
		PathElements: path, PathIndices: idx, X: req.X, ExternalNullifier: rln.ExternalNullifier(req.Epoch, identifier)}
	fmt.Fprintf(progress, "zerokit-wasm: proving and verifying %d times (a few seconds each)\n", runs)
	var out struct {
		ProveMs  []float64 `json:"prove_ms"`
		VerifyMs []float64 `json:"verify_ms"`
		Valid    bool      `json:"valid"`
	}
	if err := h.Call(map[string]any{"op": "zerokit_bench", "runs": runs, "witness": interop.Decimals(w),
		"signal": fmt.Sprintf("%x", signal), "inputs": inputs.Request()}, &out); err != nil {
		return err
	}
	if !out.Valid {
		return fmt.Errorf("zerokit did not verify its own proofs of rlnd's witness")
	}
	res.ZerokitProveMsP50, res.ZerokitVerifyMsP50 = median(out.ProveMs), median(out.VerifyMs)
	if res.ProveMsP50 > 0 {
		res.ProveSpeedup = res.ZerokitProveMsP50 / res.ProveMsP50
	}
	return nil
}

// maxRSSMB is the process's peak resident set size.
func maxRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}
