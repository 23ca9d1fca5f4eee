package venue

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
)

// poppler runs one of Poppler's tools (Debian's poppler-utils, which
// scripts/ensure-test-tools.sh installs, as make test does) and returns
// its output.
func poppler(t *testing.T, tool string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Fatalf("%s not found: run scripts/ensure-test-tools.sh (make test does)", tool)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(tool, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, stderr.String())
	}
	// Poppler reports a broken file on stderr and goes on.
	if s := stderr.String(); strings.Contains(s, "Syntax Error") || strings.Contains(s, "Syntax Warning") {
		t.Fatalf("%s finds the PDF broken:\n%s", tool, s)
	}
	return out
}

// TestPDFPoster reads the PDF posters back with Poppler, as a reader would:
// the text of the SVG poster in the same order, fonts a reader supplies
// (none embedded), and a QR code that, rendered at 150 dpi, scans to a
// code that verifies for the place.
func TestPDFPoster(t *testing.T) {
	t.Parallel()
	c, _, _ := posterCodes(t)
	for _, tc := range []struct {
		name     string
		p        Place
		carriage int
		lang     string
	}{
		{"venue", market, 0, "zh"},
		{"carriage", g1234, 5, "en"},
		{"long name", Place{ID: 9, Kind: Venue, Type: Restaurant, Name: strings.Repeat("麻辣烫", 33) + "店",
			Address: strings.Repeat("武汉市武昌区解放路", 22) + "八十八号"}, 0, "zh"},
		{"Latin name with PDF's specials", Place{ID: 10, Kind: Venue, Type: Office, Name: `Trade (Centre) \ Tower`,
			Address: "Jiefang Avenue 1"}, 0, "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pdf, err := c.PosterAs(tc.p, tc.carriage, tc.lang, PDF)
			if err != nil {
				t.Fatal(err)
			}
			svg, err := c.PosterAs(tc.p, tc.carriage, tc.lang, SVG)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			file := filepath.Join(dir, "poster.pdf")
			if err := os.WriteFile(file, pdf, 0o644); err != nil {
				t.Fatal(err)
			}
			info := string(poppler(t, "pdfinfo", file))
			if !strings.Contains(info, "Pages:           1") || !strings.Contains(info, "595.276 x 841.89 pts (A4)") {
				t.Errorf("not one A4 page:\n%s", info)
			}
			fonts := string(poppler(t, "pdffonts", file))
			for _, f := range []string{"STSong-Light", "Helvetica"} {
				if !strings.Contains(fonts, f) {
					t.Errorf("font %s not used:\n%s", f, fonts)
				}
			}
			if strings.Contains(fonts, " yes yes ") || strings.Contains(fonts, "yes no") {
				t.Errorf("a font is embedded:\n%s", fonts)
			}
			// The same words as the SVG poster, in the same order.
			squeeze := func(s string) string { return strings.Join(strings.Fields(s), "") }
			text := squeeze(string(poppler(t, "pdftotext", "-raw", file, "-")))
			at := 0
			doc := parsePoster(t, svg)
			for _, l := range doc.texts {
				w := squeeze(l.text)
				i := strings.Index(text[at:], w)
				if i < 0 {
					t.Fatalf("PDF lacks %q after position %d:\n%s", w, at, text)
				}
				at += i + len(w)
			}
			// The QR code, rendered as a printer would.
			poppler(t, "pdftoppm", "-r", "150", "-png", "-singlefile", file, filepath.Join(dir, "page"))
			f, err := os.Open(filepath.Join(dir, "page.png"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatal(err)
			}
			bmp, err := gozxing.NewBinaryBitmapFromImage(img)
			if err != nil {
				t.Fatal(err)
			}
			res, err := zxqr.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
			if err != nil {
				t.Fatalf("the PDF poster's QR code does not scan: %v", err)
			}
			if res.GetText() != scanQR(t, doc.qr).GetText() {
				t.Errorf("the PDF's QR code differs from the SVG's")
			}
			claims, err := c.VerifyPlaceCode(res.GetText(), testNow)
			if err != nil || claims.PlaceID != tc.p.ID || claims.Carriage != tc.carriage {
				t.Errorf("scanned %+v, %v", claims, err)
			}
		})
	}
}
