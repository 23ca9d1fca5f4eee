package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/outbreak-platform/outbreak/internal/audit"
	"github.com/outbreak-platform/outbreak/internal/db"
	"github.com/outbreak-platform/outbreak/internal/db/dbtest"
	"github.com/outbreak-platform/outbreak/internal/pass"
)

type codeJSON struct {
	Colour  string `json:"colour"`
	GreenOn string `json:"green_on"`
	Reasons []struct {
		RuleID string `json:"rule_id"`
		Text   string `json:"text"`
	} `json:"reasons"`
	History []struct {
		Kind       string `json:"kind"`
		Actor      string `json:"actor"`
		Reason     string `json:"reason"`
		ReasonText string `json:"reason_text"`
	} `json:"history"`
}

// TestHealthCodeFlow: a resident declares and gets a green pass; an
// epidemiologist marks them a close contact and the very next read is red
// with the reason and the day it turns green; a lab's machine client posts a
// result by ID number; the chain verifies and the holder sees who did what.
func TestHealthCodeFlow(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ts := startServer(t, d, 300)
		res, me := ts.login(t, "resident-1", demoPassword)
		res.get("/api/v1/me/code").problem(t, http.StatusNotFound, "code before any declaration")
		res.post("/api/v1/me/declarations", map[string]any{"temperature_c": 44.0, "location_code": "420106001"}).
			invalid(t, "temperature_c", "impossible temperature")
		res.post("/api/v1/me/declarations", map[string]any{"temperature_c": 36.6, "location_code": "420106001",
			"visits": []map[string]string{{"region_code": "420102", "on": "2999-01-01"}}}).invalid(t, "visits", "visit in the future")
		var c codeJSON
		res.post("/api/v1/me/declarations", map[string]any{"temperature_c": 36.6, "location_code": "420106001"}).
			want(t, http.StatusCreated, "declaration").json(t, &c)
		if c.Colour != "green" {
			t.Fatalf("after declaring: %+v", c)
		}
		var p struct {
			Text, Colour, MaskedName string `json:"-"`
		}
		pr := res.get("/api/v1/me/pass").want(t, http.StatusOK, "pass")
		pr.json(t, &struct {
			Text       *string `json:"text"`
			Colour     *string `json:"colour"`
			MaskedName *string `json:"masked_name"`
		}{&p.Text, &p.Colour, &p.MaskedName})
		if !strings.HasPrefix(p.Text, "OB1:") || p.Colour != "green" || !strings.Contains(p.MaskedName, "*") {
			t.Fatalf("pass = %+v", p)
		}

		epi := ts.demoLogin(t, "epidemiologist-1")
		today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
		path := "/api/v1/residents/" + strconv.FormatInt(me.Resident.ID, 10)
		epi.post(path+"/contacts", map[string]any{"kind": "close", "exposed_on": today, "evidence": "Jiefang Road Market, 10:05–10:40"}).
			invalid(t, "reason", "contact without a reason")
		start := time.Now()
		epi.post(path+"/contacts", map[string]any{"kind": "close", "exposed_on": today, "evidence": "Jiefang Road Market, 10:05–10:40",
			"reason": "traced from a confirmed case", "legal_basis": "Infectious Diseases Law art. 31"}).want(t, http.StatusOK, "contact")
		res.get("/api/v1/me/code").want(t, http.StatusOK, "code").json(t, &c)
		if took := time.Since(start); c.Colour != "red" || took > time.Second {
			t.Fatalf("after the contact (%s): %+v", took, c)
		}
		if len(c.Reasons) == 0 || !strings.Contains(c.Reasons[0].Text, "Jiefang Road Market") || c.GreenOn == "" {
			t.Fatalf("reasons: %+v", c)
		}
		if c.History[0].Kind != audit.ColourChange || c.History[1].Actor != "epidemiologist-1" {
			t.Fatalf("history the holder sees: %+v", c.History)
		}
		// The colour change's reason, recorded in English, is told in the
		// holder's language (zh), as the code's own reasons are, on the API
		// and on the page, after its cause (here the reason staff typed, as
		// typed).
		if h := c.History[0]; h.ReasonText != "traced from a confirmed case："+c.Reasons[0].Text || !strings.Contains(h.ReasonText, "密切接触者") || !strings.Contains(h.Reason, "close contact") {
			t.Fatalf("the colour change's reason: %q, recorded %q; the code's %q", h.ReasonText, h.Reason, c.Reasons[0].Text)
		}
		if page := res.get("/me").want(t, http.StatusOK, "the resident's page").String(); !strings.Contains(page, html.EscapeString(c.Reasons[0].Text)+"</span></td></tr>") {
			t.Errorf("the page's history does not tell the reason in zh: %q", c.Reasons[0].Text)
		}
		// A checkpoint operator may not change anyone's code.
		ts.demoLogin(t, "checkpoint-1").post(path+"/override", map[string]any{"colour": "green", "until": today,
			"reason": "please let them through", "legal_basis": "none"}).problem(t, http.StatusForbidden, "checkpoint override")

		// A lab's system posts a result by ID number with an API token.
		admin := ts.demoLogin(t, "admin-1")
		var tok struct {
			Secret string `json:"secret"`
		}
		admin.post("/api/v1/tokens", map[string]any{"name": "Wuhan lab", "role": "lab_technician", "jurisdiction_code": "4201"}).
			want(t, http.StatusCreated, "token").json(t, &tok)
		lab := ts.client(t)
		lab.bearer = tok.Secret
		lab.post("/api/v1/test-results", map[string]any{"id_number": me.Resident.IDNumber, "kind": "pcr", "result": "negative", "sampled_on": today}).
			want(t, http.StatusCreated, "lab result")
		lab.post("/api/v1/test-results", map[string]any{"id_number": "11010519491231002X", "kind": "pcr", "result": "negative", "sampled_on": today}).
			invalid(t, "id_number", "unknown person")

		// The holder appeals; the epidemiologist sees it in the queue.
		res.post("/api/v1/me/appeals", map[string]string{"message": "I was never at that market."}).want(t, http.StatusCreated, "appeal")
		var q struct {
			Appeals []struct {
				ID int64 `json:"id"`
			} `json:"appeals"`
			Total int64 `json:"total"`
		}
		epi.get("/api/v1/appeals").want(t, http.StatusOK, "queue").json(t, &q)
		if len(q.Appeals) != 1 || q.Total != 1 {
			t.Fatalf("queue: %+v", q)
		}
		epi.get("/api/v1/appeals?limit=0x10").invalid(t, "limit", "a limit that is not a number")
		epi.post("/api/v1/appeals/"+strconv.FormatInt(q.Appeals[0].ID, 10)+"/answer", map[string]string{"answer": "Your phone was seen at the market entrance."}).
			want(t, http.StatusNoContent, "answer")

		var rep audit.Report
		ts.demoLogin(t, "auditor-1").get("/api/v1/audit/verify").want(t, http.StatusOK, "verify").json(t, &rep)
		if !rep.OK || rep.Entries < 5 {
			t.Fatalf("chain: %+v", rep)
		}
		// Edit one row in the database: the auditor's check finds it.
		if _, err := d.W.ExecContext(context.Background(), "UPDATE audit_log SET reason = 'nothing happened' WHERE id = 2"); err != nil {
			t.Fatal(err)
		}
		ts.demoLogin(t, "auditor-1").get("/api/v1/audit/verify").want(t, http.StatusOK, "verify").json(t, &rep)
		if rep.OK || rep.BrokenAt != 2 {
			t.Fatalf("chain after tampering: %+v", rep)
		}

		// The trust list is public and verifies the pass offline.
		var root struct {
			PublicKey string `json:"public_key"`
		}
		ts.client(t).get("/api/v1/trust-list/root").want(t, http.StatusOK, "root").json(t, &root)
		if len(root.PublicKey) != 43 {
			t.Fatalf("root key = %q", root.PublicKey)
		}
		pub, err := base64.RawURLEncoding.DecodeString(root.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		// Version 2 states its expiry: a week after its issue by default.
		// Without ?version, version 1 (no expiry) for the verifiers that
		// read only that; any other version is a problem, not a list.
		for _, tc := range []struct{ query, version string }{{"?version=2", `"version":2`}, {"", `"version":1`}, {"?version=1", `"version":1`}} {
			doc := ts.client(t).get("/api/v1/trust-list"+tc.query).want(t, http.StatusOK, "trust list"+tc.query).Body
			tl, err := pass.ParseTrustList(doc, pub)
			if err != nil {
				t.Fatalf("trust list%s: %v", tc.query, err)
			}
			if got := tl.ExpiresAt(tl.Regions()[0]).Sub(tl.IssuedAt(tl.Regions()[0])); got != 7*24*time.Hour {
				t.Errorf("trust list%s good for %s; want a week", tc.query, got)
			}
			var d struct{ Payload string }
			if err := json.Unmarshal(doc, &d); err != nil {
				t.Fatal(err)
			}
			payload, _ := base64.RawURLEncoding.DecodeString(d.Payload)
			if !strings.Contains(string(payload), tc.version) || strings.Contains(string(payload), "expires_at") != (tc.version == `"version":2`) {
				t.Errorf("trust list%s: %s", tc.query, payload)
			}
		}
		for _, q := range []string{"?version=3", "?version=0", "?version=2x"} {
			ts.client(t).get("/api/v1/trust-list"+q).problem(t, http.StatusUnprocessableEntity, "trust list"+q)
		}
		ts.client(t).get("/api/v1/trust-list?version=%00").problem(t, http.StatusBadRequest, "trust list?version=%00 (not text)")
	})
}

// TestBrowserHealthCode: the resident declares through the form and sees a
// green pass; after an epidemiologist marks them a close contact, their page
// is red, with the reason and the day it turns green.
func TestBrowserHealthCode(t *testing.T) {
	ctx := browser(t)
	d := dbtest.SQLite(t)
	ts := startServer(t, d, 300)
	do(t, ctx, signIn(ts.URL, "resident-1"), chromedp.WaitVisible(css(`[data-testid=no-code]`)),
		chromedp.Click(css(`a[href^="/me/declare"]`)), chromedp.WaitVisible(css(`#f-temperature_c`)),
		chromedp.Submit(css(`#f-temperature_c`)), chromedp.WaitVisible(css(`[data-testid=code]`)))
	colour, err := chromedp.Run(ctx, chromedp.AttributeValue(css(`[data-testid=code]`), "data-colour"))
	if err != nil || colour.Value != "green" {
		t.Fatalf("colour after declaring = %q, %v", colour.Value, err)
	}
	loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`new Promise(ok => { const i = document.querySelector("[data-testid=pass]"); const done = () => ok(i.naturalWidth > 0); i.complete ? done() : i.addEventListener("load", done); })`, chromedp.EvalAwaitPromise))
	if err != nil || !loaded {
		t.Fatalf("pass image loaded = %v, %v", loaded, err)
	}

	_, me := ts.login(t, "resident-1", demoPassword)
	epi := ts.demoLogin(t, "epidemiologist-1")
	today := time.Now().In(time.FixedZone("CST", 8*3600)).Format("2006-01-02")
	epi.post("/api/v1/residents/"+strconv.FormatInt(me.Resident.ID, 10)+"/contacts", map[string]any{"kind": "close", "exposed_on": today,
		"evidence": "Jiefang Road Market, 10:05–10:40", "reason": "traced from a confirmed case", "legal_basis": "Infectious Diseases Law art. 31"}).
		want(t, http.StatusOK, "contact")
	do(t, ctx, chromedp.Reload(), chromedp.WaitVisible(css(`[data-testid=reasons]`)))
	colour, _ = chromedp.Run(ctx, chromedp.AttributeValue(css(`[data-testid=code]`), "data-colour"))
	reasons, greenOn := text(t, ctx, `[data-testid=reasons]`), text(t, ctx, `[data-testid=green-on]`)
	if colour.Value != "red" || !strings.Contains(reasons, "Jiefang Road Market") || greenOn == "" {
		t.Fatalf("after the contact: %q, %q, %q", colour.Value, reasons, greenOn)
	}
	if hist := text(t, ctx, `[data-testid=history]`); !strings.Contains(hist, "epidemiologist-1") {
		t.Errorf("history does not name the epidemiologist: %q", hist)
	}
}
