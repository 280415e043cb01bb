package bench

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/open-assist/assist/internal/delivery"
	"github.com/open-assist/assist/internal/hmrc"
)

// calculations are realistic calculations, each with its own id: many
// messages, a few, none (a 204), and a full 2026-27 one of 37 kB.
//
//go:embed testdata/*.json
var calculations embed.FS

// service is the child process serving the API.
type service struct {
	cmd  *exec.Cmd
	base string
	log  string
	done chan struct{}
}

// startService runs exe serve on a loopback port with args, and waits
// until it answers /health/ready.
func startService(ctx context.Context, exe string, args []string, dir string) (*service, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	logPath := filepath.Join(dir, "serve.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, append([]string{"serve", "--addr", addr}, args...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s serve: %w", exe, err)
	}
	s := &service{cmd: cmd, base: "http://" + addr, log: logPath, done: make(chan struct{})}
	go func() { cmd.Wait(); logFile.Close(); close(s.done) }()
	// A cold start migrates and compiles the catalogue: a few seconds, more
	// on a busy machine or under the race detector.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := http.Get(s.base + "/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("the service exited before it was ready:\n%s", s.logTail(20))
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, fmt.Errorf("the service was not ready after 2 minutes:\n%s", s.logTail(20))
		}
	}
}

// peakRSS returns the service's peak resident set size (VmHWM), in bytes.
func (s *service) peakRSS() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak RSS: %q: %w", line, err)
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("peak RSS: no VmHWM in /proc/PID/status")
}

// stop asks the service to shut down, and kills it if it takes too long.
func (s *service) stop() {
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
}

func (s *service) logTail(n int) string {
	b, _ := os.ReadFile(s.log)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// target is a calculation a caller may ask about: an individual's own, or
// an authorised agent's client's.
type target struct {
	token, nino, taxYear, calcID string
}

// ledger counts what the service's answers promise the receivers: each 200
// to produce and each first acknowledgement is one NRS record and one event.
type ledger struct {
	reports, acks atomic.Int64
}

func (l *ledger) records() int { return int(l.reports.Load() + l.acks.Load()) }

// client calls the API.
type client struct {
	http  *http.Client
	base  string
	fraud http.Header // sent on every call with a token, as real software sends them
}

func (c *client) do(ctx context.Context, method, path, token string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Accept", hmrc.MediaTypeV1)
		req.Header.Set("Authorization", "Bearer "+token)
		for k, v := range c.fraud {
			req.Header[k] = v
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// seed makes individuals and agents through test support, loads every
// calculation for each individual, and authorises each agent for two
// individuals. Agents reach the same calculations as their clients.
func seed(ctx context.Context, c *client, individuals, agents int) ([]target, error) {
	files, err := calculations.ReadDir("testdata")
	if err != nil {
		return nil, err
	}
	type calc struct {
		taxYear, id string
		body        []byte
	}
	var calcs []calc
	for _, f := range files {
		b, err := calculations.ReadFile(path.Join("testdata", f.Name()))
		if err != nil {
			return nil, err
		}
		var meta struct {
			Metadata struct{ TaxYear, CalculationID string } `json:"metadata"`
		}
		if err := json.Unmarshal(b, &meta); err != nil {
			return nil, fmt.Errorf("%s: %w", f.Name(), err)
		}
		calcs = append(calcs, calc{meta.Metadata.TaxYear, meta.Metadata.CalculationID, b})
	}
	var ninos []string
	var targets []target
	for range individuals {
		var in struct{ NINO, AccessToken string }
		if err := c.post(ctx, "/test-support/individuals", nil, http.StatusCreated, &in); err != nil {
			return nil, err
		}
		ninos = append(ninos, in.NINO)
		for _, k := range calcs {
			p := "/test-support/calculations/" + in.NINO + "/" + k.taxYear + "/" + k.id
			if err := c.put(ctx, p, k.body); err != nil {
				return nil, err
			}
			targets = append(targets, target{in.AccessToken, in.NINO, k.taxYear, k.id})
		}
	}
	for i := range agents {
		var ag struct{ ARN, AccessToken string }
		if err := c.post(ctx, "/test-support/agents", nil, http.StatusCreated, &ag); err != nil {
			return nil, err
		}
		for j := range 2 {
			nino := ninos[(2*i+j)%len(ninos)]
			if err := c.put(ctx, "/test-support/agents/"+ag.ARN+"/clients/"+nino, []byte(`{"type":"main"}`)); err != nil {
				return nil, err
			}
			for _, k := range calcs {
				targets = append(targets, target{ag.AccessToken, nino, k.taxYear, k.id})
			}
		}
	}
	return targets, nil
}

func (c *client) post(ctx context.Context, p string, body []byte, want int, out any) error {
	status, b, err := c.do(ctx, http.MethodPost, p, "", body)
	if err != nil {
		return fmt.Errorf("POST %s: %w", p, err)
	}
	if status != want {
		return fmt.Errorf("POST %s = %d, want %d: %.200s", p, status, want, b)
	}
	return json.Unmarshal(b, out)
}

func (c *client) put(ctx context.Context, p string, body []byte) error {
	status, b, err := c.do(ctx, http.MethodPut, p, "", body)
	if err != nil {
		return fmt.Errorf("PUT %s: %w", p, err)
	}
	if status != http.StatusNoContent {
		return fmt.Errorf("PUT %s = %d, want 204: %.200s", p, status, b)
	}
	return nil
}

// Endpoint names, as reported.
const (
	Produce     = "produce"
	Acknowledge = "acknowledge"
	Limit       = "limit"
)

// journey produces a report on one of targets (each in turn) and, when it
// answers 200, acknowledges it; produce and ack name the two endpoints.
func journey(c *client, targets []target, l *ledger, produce, ack string) Journey {
	var next atomic.Uint64
	return func(ctx context.Context, rec *Recorder) {
		t := targets[next.Add(1)%uint64(len(targets))]
		start := time.Now()
		status, body, err := c.do(ctx, http.MethodPost, hmrc.PathPrefix+"/reports/"+t.nino+"/"+t.taxYear+"/"+t.calcID, t.token, nil)
		if err != nil {
			status = 0
		}
		rec.Add(produce, status, time.Since(start), status == http.StatusOK || status == http.StatusNoContent)
		if status != http.StatusOK {
			return
		}
		l.reports.Add(1)
		var rep struct{ ReportID, CorrelationID string }
		if err := json.Unmarshal(body, &rep); err != nil {
			rec.Add(ack, 0, 0, false)
			return
		}
		start = time.Now()
		status, _, err = c.do(ctx, http.MethodPost, hmrc.PathPrefix+"/reports/acknowledge/"+t.nino+"/"+rep.ReportID+"/"+rep.CorrelationID, t.token, nil)
		if err != nil {
			status = 0
		}
		rec.Add(ack, status, time.Since(start), status == http.StatusNoContent)
		if status == http.StatusNoContent {
			l.acks.Add(1) // each report is acknowledged once: always the first
		}
	}
}

// typicalBodySize produces one report of each calculation with the first
// caller and returns the mean size of the 200 answers, and the
// calculations that gave none.
func typicalBodySize(ctx context.Context, c *client, targets []target, l *ledger) (int, map[string]bool, error) {
	total, n := 0, 0
	seen, none := map[string]bool{}, map[string]bool{}
	for _, t := range targets {
		if seen[t.calcID] {
			continue
		}
		seen[t.calcID] = true
		status, body, err := c.do(ctx, http.MethodPost, hmrc.PathPrefix+"/reports/"+t.nino+"/"+t.taxYear+"/"+t.calcID, t.token, nil)
		if err != nil {
			return 0, nil, err
		}
		if status != http.StatusOK {
			none[t.calcID] = true
			continue
		}
		l.reports.Add(1)
		total += len(body)
		n++
	}
	if n == 0 {
		return 0, nil, errors.New("no calculation gave a report")
	}
	return total / n, none, nil
}

// limitServer is the least a Go HTTP server can do per request: answer a
// fixed body of the size of a typical report.
func limitServer(size int) (*http.Server, string, error) {
	body := bytes.Repeat([]byte("x"), size)
	return serveLoopback(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	}))
}

// limitJourney is one request to the limit server, made as produce is.
func limitJourney(c *client) Journey {
	return func(ctx context.Context, rec *Recorder) {
		start := time.Now()
		status, _, err := c.do(ctx, http.MethodPost, "/reports", "token", nil)
		if err != nil {
			status = 0
		}
		rec.Add(Limit, status, time.Since(start), status == http.StatusOK)
	}
}

// newClient returns a client whose connections are kept for clients at once.
func newClient(base string, clients int) *client {
	return &client{base: base, http: delivery.NewHTTPClient(clients*2, 30*time.Second), fraud: fraudHeaders(time.Now())}
}

// fraudHeaders are a desktop app's valid fraud prevention headers, collected
// at now.
func fraudHeaders(now time.Time) http.Header {
	h := http.Header{}
	for _, kv := range [][2]string{
		{"Gov-Client-Connection-Method", "DESKTOP_APP_DIRECT"},
		{"Gov-Client-Device-ID", "beec798b-b366-47fa-b1f8-92cede14a1ce"},
		{"Gov-Client-User-IDs", "os=bench&assist-bench=bench"},
		{"Gov-Client-Timezone", "UTC+00:00"},
		{"Gov-Client-Local-IPs", "10.1.2.3"},
		{"Gov-Client-Local-IPs-Timestamp", now.UTC().Format("2006-01-02T15:04:05.000Z")},
		{"Gov-Client-MAC-Addresses", "ea%3A43%3A1a%3A5d%3A21%3A45"},
		{"Gov-Client-Screens", "width=1920&height=1080&scaling-factor=1&colour-depth=24"},
		{"Gov-Client-Window-Size", "width=1256&height=803"},
		{"Gov-Client-User-Agent", "os-family=Linux&os-version=6&device-manufacturer=Bench&device-model=Bench"},
		{"Gov-Client-Multi-Factor", "type=OTHER&timestamp=" + url.QueryEscape(now.UTC().Format("2006-01-02T15:04Z")) + "&unique-reference=bench"},
		{"Gov-Vendor-Version", "assist-bench=1"},
		{"Gov-Vendor-License-IDs", "assist-bench=0"},
		{"Gov-Vendor-Product-Name", "assist%20bench"},
	} {
		h.Set(kv[0], kv[1])
	}
	return h
}
