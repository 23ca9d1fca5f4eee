package bench

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// AnswerWithin is how soon a request must be answered in a surge: later
// is a failure, as is any answer other than a 2xx or a 429/503 with
// Retry-After.
const AnswerWithin = 2 * time.Second

// Drive is an open-loop load generator lighter than net/http's client, so
// that one core can offer a node tens of thousands of requests a second:
// requests are made as bytes (req), written on plain keep-alive
// connections, one request at a time each, and their answers read with
// http.ReadResponse. Every request is due at its time whether or not the
// earlier ones were answered.
type Drive struct {
	// Addr is the node's HOST:PORT.
	Addr string
	// Req makes request i's bytes.
	Req func(i int) []byte
	// Accepted reports whether a 2xx answer to request i counts as goodput
	// (a check-in acknowledged); nil counts every 2xx.
	Accepted func(i int, body []byte) bool
	// MaxConns caps the connections open at once; a request due when every
	// one is busy is dropped (counted, not sent).
	MaxConns int

	mu   sync.Mutex
	idle []*driveConn
	open atomic.Int64
}

type driveConn struct {
	c net.Conn
	r *bufio.Reader
}

// Result is what one run of the generator saw.
type Result struct {
	Offered  int `json:"offered"`
	Accepted int `json:"accepted"`
	// OK counts 2xx answers that were not goodput (a refusal inside a 200).
	OK int `json:"ok_not_accepted"`
	// Shed counts 429 and 503 answers with Retry-After, within AnswerWithin.
	Shed int `json:"shed"`
	// Other counts everything else: another status, no Retry-After, a
	// connection error, an answer later than AnswerWithin.
	Other   int `json:"other"`
	Dropped int `json:"dropped"`
	// AcceptedLatency is measured from when each request was due.
	AcceptedLatency Latencies `json:"accepted_latency"`
	// Latency is that of every answer within AnswerWithin.
	Latency Latencies `json:"latency"`
	// OfferedFor is how long requests were offered; Elapsed, until the last
	// was answered.
	OfferedFor time.Duration `json:"-"`
	Elapsed    time.Duration `json:"-"`
	// Statuses counts the answers by status (0: no answer).
	Statuses map[int]int `json:"statuses"`
}

// Run offers rate requests a second for d, numbering them from first, and
// returns once every one sent is answered or has failed.
func (g *Drive) Run(ctx context.Context, first int, rate float64, d time.Duration) Result {
	var (
		mu      sync.Mutex
		res     = Result{Statuses: map[int]int{}}
		acc     []time.Duration
		all     []time.Duration
		wg      sync.WaitGroup
		n       = int(rate * d.Seconds())
		spacing = time.Duration(float64(time.Second) / rate)
	)
	start := time.Now()
	for i := 0; i < n; {
		if ctx.Err() != nil {
			break
		}
		now := time.Now()
		for ; i < n; i++ {
			due := start.Add(time.Duration(i) * spacing)
			if due.After(now) {
				break
			}
			res.Offered++
			c := g.conn()
			if c == nil {
				mu.Lock()
				res.Dropped++
				mu.Unlock()
				continue
			}
			wg.Add(1)
			go func(i int, due time.Time) {
				defer wg.Done()
				status, retry, body, err := g.do(c, g.Req(first+i))
				took := time.Since(due)
				mu.Lock()
				defer mu.Unlock()
				res.Statuses[status]++
				switch {
				case err != nil || took > AnswerWithin:
					res.Other++
					return
				case status >= 200 && status < 300:
					if g.Accepted == nil || g.Accepted(first+i, body) {
						res.Accepted++
						acc = append(acc, took)
					} else {
						res.OK++
					}
				case (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) && retry:
					res.Shed++
				default:
					res.Other++
				}
				all = append(all, took)
			}(i, due)
		}
		time.Sleep(200 * time.Microsecond)
	}
	res.OfferedFor = time.Since(start)
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.AcceptedLatency, res.Latency = Summarise(acc), Summarise(all)
	return res
}

// conn returns an idle connection, or a new one while fewer than MaxConns
// are open, or nil.
func (g *Drive) conn() *driveConn {
	g.mu.Lock()
	if k := len(g.idle); k > 0 {
		c := g.idle[k-1]
		g.idle = g.idle[:k-1]
		g.mu.Unlock()
		return c
	}
	g.mu.Unlock()
	if g.open.Add(1) > int64(g.MaxConns) {
		g.open.Add(-1)
		return nil
	}
	return &driveConn{} // dialled by do, on the request's goroutine
}

func (g *Drive) put(c *driveConn) {
	g.mu.Lock()
	g.idle = append(g.idle, c)
	g.mu.Unlock()
}

func (g *Drive) drop(c *driveConn) {
	if c.c != nil {
		c.c.Close()
	}
	g.open.Add(-1)
}

// do sends one request on c and reads its answer: the status, whether it
// carried Retry-After, and its body.
func (g *Drive) do(c *driveConn, req []byte) (status int, retry bool, body []byte, err error) {
	if c.c == nil {
		if c.c, err = net.DialTimeout("tcp", g.Addr, AnswerWithin); err != nil {
			g.open.Add(-1)
			c.c = nil
			return 0, false, nil, err
		}
		c.r = bufio.NewReaderSize(c.c, 4096)
	}
	c.c.SetDeadline(time.Now().Add(AnswerWithin))
	if _, err = c.c.Write(req); err != nil {
		g.drop(c)
		return 0, false, nil, err
	}
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		g.drop(c)
		return 0, false, nil, err
	}
	body, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		g.drop(c)
	} else {
		g.put(c)
	}
	return resp.StatusCode, resp.Header.Get("Retry-After") != "", body, err
}

// Close closes the idle connections.
func (g *Drive) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range g.idle {
		g.drop(c)
	}
	g.idle = nil
}

// Probe asks url every interval until ctx ends, and counts the answers
// that were not a 200 within timeout.
func Probe(ctx context.Context, url string, interval, timeout time.Duration) (probes, failures int) {
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: false, MaxIdleConnsPerHost: 2}}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return probes, failures
		case <-t.C:
		}
		probes++
		resp, err := client.Get(url)
		if err != nil {
			failures++
			continue
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			failures++
		}
	}
}
