package venue

import (
	"bytes"
	"crypto/ed25519"
	"encoding/xml"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"io"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/outbreak-platform/outbreak/internal/i18n"
)

// svgDoc is what the tests read back from a poster.
type svgDoc struct {
	root  map[string]string
	texts []svgLine // in document order
	qr    svgQR
}

type svgLine struct {
	y, size float64
	text    string
}

type svgQR struct {
	x, y, scale float64
	n           int    // modules across, quiet zone included
	path        string // the dark modules
}

var (
	translateRE = regexp.MustCompile(`^translate\(([0-9.]+) ([0-9.]+)\) scale\(([0-9.]+)\)$`)
	moduleRE    = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`)
)

// parsePoster checks that the poster is well-formed XML and reads it.
func parsePoster(t *testing.T, svg []byte) svgDoc {
	t.Helper()
	var doc svgDoc
	dec := xml.NewDecoder(bytes.NewReader(svg))
	attrs := func(se xml.StartElement) map[string]string {
		m := map[string]string{}
		for _, a := range se.Attr {
			m[a.Name.Local] = a.Value
		}
		return m
	}
	inQR := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("poster is not well-formed XML: %v\n%s", err, svg)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		a := attrs(se)
		switch se.Name.Local {
		case "svg":
			doc.root = a
		case "text":
			var s string
			if err := dec.DecodeElement(&s, &se); err != nil {
				t.Fatal(err)
			}
			y, _ := strconv.ParseFloat(a["y"], 64)
			size, _ := strconv.ParseFloat(a["font-size"], 64)
			doc.texts = append(doc.texts, svgLine{y: y, size: size, text: s})
		case "g":
			if a["id"] == "qr" {
				inQR = true
				m := translateRE.FindStringSubmatch(a["transform"])
				if m == nil {
					t.Fatalf("QR transform %q", a["transform"])
				}
				doc.qr.x, _ = strconv.ParseFloat(m[1], 64)
				doc.qr.y, _ = strconv.ParseFloat(m[2], 64)
				doc.qr.scale, _ = strconv.ParseFloat(m[3], 64)
			}
		case "rect":
			if inQR {
				doc.qr.n, _ = strconv.Atoi(a["width"])
			}
		case "path":
			if inQR {
				doc.qr.path = a["d"]
			}
		}
	}
	if doc.qr.n == 0 || doc.qr.path == "" {
		t.Fatal("no QR code in the poster")
	}
	return doc
}

// all joins the poster's text lines.
func (d svgDoc) all() string {
	var ls []string
	for _, l := range d.texts {
		ls = append(ls, l.text)
	}
	return strings.Join(ls, "\n")
}

// scanQR draws the poster's QR code and decodes it as a phone would,
// without a hint of where it is. gozxing's finder misses a few percent of
// synthetic codes at one scale or another (every one of them decodes once
// located: see the PURE_BARCODE check), so as a phone sees a poster at
// many scales, the code must scan at one of several.
func scanQR(t *testing.T, q svgQR) *gozxing.Result {
	t.Helper()
	if strings.Join(moduleRE.FindAllString(q.path, -1), "") != q.path {
		t.Fatalf("QR path has more than module runs: %.80s", q.path)
	}
	draw1 := func(px int) *gozxing.BinaryBitmap {
		img := image.NewGray(image.Rect(0, 0, q.n*px, q.n*px))
		draw.Draw(img, img.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
		for _, m := range moduleRE.FindAllStringSubmatch(q.path, -1) {
			x, _ := strconv.Atoi(m[1])
			y, _ := strconv.Atoi(m[2])
			run, _ := strconv.Atoi(m[3])
			if x < qrQuietZone || y < qrQuietZone || x+run > q.n-qrQuietZone || y >= q.n-qrQuietZone {
				t.Fatalf("module run %v in the quiet zone", m[0])
			}
			draw.Draw(img, image.Rect(x*px, y*px, (x+run)*px, (y+1)*px), image.NewUniform(color.Black), image.Point{}, draw.Src)
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		return bmp
	}
	pure, err := zxqr.NewQRCodeReader().Decode(draw1(4), map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
	if err != nil {
		t.Fatalf("the poster's QR code does not decode: %v", err)
	}
	var errs []error
	for _, px := range []int{4, 3, 5, 6} {
		res, err := zxqr.NewQRCodeReader().Decode(draw1(px), nil)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if res.GetText() != pure.GetText() {
			t.Fatalf("scanned %q, decoded %q", res.GetText(), pure.GetText())
		}
		if lvl := res.GetResultMetadata()[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL]; lvl != "Q" {
			t.Errorf("error correction level %v; want Q", lvl)
		}
		return res
	}
	t.Fatalf("the poster's QR code does not scan: %v", errs)
	return nil
}

// posterCodes signs posters with a fixed key, so that they are the same
// every run, worded by the embedded catalogue.
func posterCodes(t *testing.T) (*Codes, *i18n.Catalog, ed25519.PrivateKey) {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	k := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	c := memCodes("4201", k, map[string]ed25519.PrivateKey{"4201": k})
	c.Catalog = cat
	return c, cat, k
}

func TestPoster(t *testing.T) {
	t.Parallel()
	c, cat, k := posterCodes(t)
	zh, en := cat.For("zh"), cat.For("en")

	for _, tc := range []struct {
		name     string
		p        Place
		carriage int
		lang     string
		want     []string // lines or parts of lines, in order
	}{
		{"venue in Chinese", market, 0, "zh", []string{"扫码登记", "Scan to check in", "解放路菜市场 & Co", "商店 · Shop", "武昌区解放路 88 号",
			zh.T("venue.poster.scan"), en.T("venue.poster.scan"), "中南路社区 Zhongnan Road", "编号 42"}},
		{"venue in English", market, 0, "en", []string{"Scan to check in", "扫码登记", "解放路菜市场 & Co", "Shop · 商店",
			en.T("venue.poster.scan"), zh.T("venue.poster.scan"), "Zhongnan Road 中南路社区", "No. 42"}},
		{"carriage of a train", g1234, 5, "zh", []string{"扫码登记", "G1234 武汉—北京西", "列车 · Train · G1234 · 2026-05-01",
			"5 号车厢 · Carriage 5", zh.T("venue.poster.scan_vehicle"), en.T("venue.poster.scan_vehicle")}},
		{"bus line", Place{ID: 8, Kind: Vehicle, Type: Bus, Name: "526 路", ServiceNumber: "526"}, 0, "en",
			[]string{"526 路", "Bus line · 公交线路 · 526 · Every day 每日运营"}},
		{"longest name and address", Place{ID: 9, Kind: Venue, Type: Restaurant, Name: strings.Repeat("麻辣烫", 33) + "店",
			Address: strings.Repeat("武汉市武昌区解放路", 22) + "八十八号"}, 0, "zh", []string{"麻辣烫麻辣烫"}},
		{"long Latin name", Place{ID: 10, Kind: Venue, Type: Office, Name: strings.Repeat("Wuhan International Trade Centre ", 3),
			Address: "Jiefang Avenue 1"}, 0, "en", []string{"Wuhan International"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svg, err := c.PosterAs(tc.p, tc.carriage, tc.lang, SVG)
			if err != nil {
				t.Fatal(err)
			}
			if dir := os.Getenv("VENUE_POSTER_DIR"); dir != "" { // to look at them
				os.WriteFile(dir+"/"+strings.ReplaceAll(tc.name, " ", "_")+".svg", svg, 0o644)
			}
			doc := parsePoster(t, svg)
			if doc.root["viewBox"] != "0 0 210 297" || doc.root["width"] != "210mm" || doc.root["height"] != "297mm" {
				t.Errorf("not an A4 page: %v", doc.root)
			}
			// Lines wrap where they will: compare without white space.
			squeeze := func(s string) string { return strings.Join(strings.Fields(s), "") }
			all := squeeze(doc.all())
			at := 0
			for _, w := range tc.want {
				w = squeeze(w)
				i := strings.Index(all[at:], w)
				if i < 0 {
					t.Fatalf("poster lacks %q after position %d:\n%s", w, at, all)
				}
				at += i + len(w)
			}

			// The QR code: at least 6 cm wide, on the page, clear of text,
			// and it scans back to a code that verifies for the place.
			q := doc.qr
			side := float64(q.n) * q.scale
			if side < qrMinSide-0.01 || q.x < 0 || q.y < headerH || q.x+side > pageW || q.y+side > pageH {
				t.Errorf("QR code at (%v, %v), %v mm wide", q.x, q.y, side)
			}
			for _, l := range doc.texts {
				if l.y+0.3*l.size > q.y && l.y-l.size < q.y+side {
					t.Errorf("text %q at y %v overlaps the QR code (%v to %v)", l.text, l.y, q.y, q.y+side)
				}
				if w := textWidth(l.text) * l.size; w > textW+0.01 || l.y > pageH-5 {
					t.Errorf("text %q (%.0f mm wide at y %v) leaves the page", l.text, w, l.y)
				}
			}
			res := scanQR(t, q)
			claims, err := c.VerifyPlaceCode(res.GetText(), testNow)
			if err != nil || claims.PlaceID != tc.p.ID || claims.Type != tc.p.Type || claims.Carriage != tc.carriage {
				t.Errorf("scanned %+v, %v", claims, err)
			}
		})
	}

	if _, err := c.PosterAs(Place{ID: 1, Kind: Venue, Type: Shop, Name: "x", Disabled: true}, 0, "zh", PDF); !errors.Is(err, ErrDisabled) {
		t.Errorf("poster of a disabled place: %v", err)
	}
	if _, err := c.PosterAs(market, 2, "zh", PDF); err == nil {
		t.Error("a carriage poster for a shop")
	}
	// With the platform's public address, the QR code is a link to the
	// check-in page that a phone's camera opens, the code in its fragment.
	linked := memCodes("4201", k, map[string]ed25519.PrivateKey{"4201": k})
	linked.Catalog, linked.CheckInURL = cat, "https://jiankang.example.gov.cn/checkin"
	svg, err := linked.PosterAs(market, 0, "zh", SVG)
	if err != nil {
		t.Fatal(err)
	}
	text := scanQR(t, parsePoster(t, svg).qr).GetText()
	link, frag, _ := strings.Cut(text, "#")
	code, err := url.PathUnescape(frag)
	if link != linked.CheckInURL || strings.Contains(frag, " ") || err != nil {
		t.Fatalf("poster link %q (%v)", text, err)
	}
	if claims, err := linked.VerifyPlaceCode(code, testNow); err != nil || claims.PlaceID != market.ID {
		t.Errorf("the link's code: %+v, %v", claims, err)
	}

	// Without a catalogue, the embedded one is loaded.
	bare := memCodes("4201", k, map[string]ed25519.PrivateKey{"4201": k})
	if svg, err := bare.PosterAs(market, 0, "xx", SVG); err != nil || !bytes.Contains(svg, []byte("扫码登记")) {
		t.Errorf("poster with the embedded catalogue: %v", err)
	}
}
