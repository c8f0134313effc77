// Package interop drives the Node.js harness in this folder (rln.mjs), which
// runs zerokit's RLNv2 (@waku/zerokit-rln-wasm) and snarkjs, so that tests
// and benchmarks can cross-check rlnd against those implementations.
package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// ErrUnavailable means the harness cannot run here (no node, no
// node_modules); the message says what to install.
var ErrUnavailable = errors.New("interop harness unavailable")

// Harness is one running rln.mjs process. Calls are serialized.
type Harness struct {
	mu     sync.Mutex
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *syncBuffer
}

// Dir finds the interop folder: ./interop in the module root found by
// walking up from the working directory.
func Dir() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "interop"), nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: no go.mod above %s", ErrUnavailable, wd)
		}
	}
}

// rlnModule is the npm package the RLN harness (rln.mjs) runs.
const rlnModule = "@waku/zerokit-rln-wasm"

// CheckRLN says whether Start can run the harness from dir without
// starting it: node on PATH and the zerokit package installed in
// dir/node_modules. Its error wraps ErrUnavailable and says what to
// install.
func CheckRLN(dir string) error {
	if _, err := exec.LookPath("node"); err != nil {
		return errNoNode
	}
	return checkModule(dir, rlnModule)
}

// Start launches the harness from dir. The process ends when ctx is done or
// Close is called.
func Start(ctx context.Context, dir string) (*Harness, error) {
	p, err := startNode(ctx, dir, "rln.mjs", rlnModule, nil)
	if err != nil {
		return nil, err
	}
	return &Harness{cmd: p.cmd, stdin: p.stdin, stdout: p.stdout, stderr: p.stderr}, nil
}

// nodeProcess is a started `node <script>` with pipes.
type nodeProcess struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr *syncBuffer
}

// startNode starts node on dir/script once it has checked that node is on
// PATH and that module is installed in dir/node_modules. env is added to
// the process environment.
func startNode(ctx context.Context, dir, script, module string, env []string) (*nodeProcess, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errNoNode
	}
	return startNodeBinary(ctx, node, dir, script, module, env)
}

// errNoNode is the harness's failure without Node.js.
var errNoNode = fmt.Errorf("%w: node not found on PATH (install Node.js >= 20)", ErrUnavailable)

// checkModule says whether the npm package module is installed in
// dir/node_modules.
func checkModule(dir, module string) error {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", filepath.FromSlash(module))); err != nil {
		return fmt.Errorf("%w: %s/node_modules is missing %s: run 'npm ci' there (make test does)", ErrUnavailable, dir, module)
	}
	return nil
}

// startNodeBinary is startNode with the node binary given.
func startNodeBinary(ctx context.Context, node, dir, script, module string, env []string) (*nodeProcess, error) {
	if err := checkModule(dir, module); err != nil {
		return nil, err
	}
	p := &nodeProcess{cmd: exec.CommandContext(ctx, node, filepath.Join(dir, script)), stderr: &syncBuffer{}}
	p.cmd.Stderr = p.stderr
	if len(env) > 0 {
		p.cmd.Env = append(os.Environ(), env...)
	}
	var err error
	if p.stdin, err = p.cmd.StdinPipe(); err != nil {
		return nil, err
	}
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	p.stdout = bufio.NewReaderSize(out, 1<<20)
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("interop: start node %s: %w", script, err)
	}
	return p, nil
}

// syncBuffer is a bytes.Buffer safe for the process's stderr copier and
// readers of error messages at the same time.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Call sends one request and decodes its response into resp (which may be
// nil). A response carrying "error" is returned as an error.
func (h *Harness) Call(req any, resp any) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	line, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("interop: encode request: %w", err)
	}
	if _, err := h.stdin.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("interop: write request: %w (stderr: %s)", err, h.stderr.String())
	}
	reply, err := h.stdout.ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("interop: read response: %w (stderr: %s)", err, h.stderr.String())
	}
	var probe struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(reply, &probe); err != nil {
		return fmt.Errorf("interop: decode response %q: %w", reply, err)
	}
	if probe.Error != nil {
		return fmt.Errorf("interop: %s", *probe.Error)
	}
	if resp == nil {
		return nil
	}
	if err := json.Unmarshal(reply, resp); err != nil {
		return fmt.Errorf("interop: decode response: %w", err)
	}
	return nil
}

// Close ends the process (it exits when its stdin closes) and waits for it.
func (h *Harness) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.stdin.Close(); err != nil {
		return err
	}
	return h.cmd.Wait()
}
