package pass

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	zxqr "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/skip2/go-qrcode"
)

// scan decodes the QR code in img the way a phone would: find it, then read
// it; no hint says where it is.
func scan(t *testing.T, img image.Image) *gozxing.Result {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := zxqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("QR code does not scan: %v", err)
	}
	return res
}

// qrSegmentModes walks the data bit stream of a QR code of the given
// version and returns the mode of each segment ("numeric", "alphanumeric",
// "byte", or "other").
func qrSegmentModes(t *testing.T, data []byte, version int) []string {
	t.Helper()
	pos := 0
	read := func(n int) int {
		v := 0
		for range n {
			if pos >= len(data)*8 {
				t.Fatalf("bit stream ends inside a segment")
			}
			v = v<<1 | int(data[pos/8]>>(7-pos%8)&1)
			pos++
		}
		return v
	}
	size := 0 // 0: versions 1-9, 1: 10-26, 2: 27-40
	if version >= 27 {
		size = 2
	} else if version >= 10 {
		size = 1
	}
	var modes []string
	for len(data)*8-pos >= 4 {
		switch read(4) {
		case 0: // terminator
			return modes
		case 1:
			n := read([]int{10, 12, 14}[size])
			read(n/3*10 + []int{0, 4, 7}[n%3])
			modes = append(modes, "numeric")
		case 2:
			n := read([]int{9, 11, 13}[size])
			read(n/2*11 + n%2*6)
			modes = append(modes, "alphanumeric")
		case 4:
			n := read([]int{8, 16, 16}[size])
			read(n * 8)
			modes = append(modes, "byte")
		default:
			return append(modes, "other")
		}
	}
	return modes
}

func TestPNGScans(t *testing.T) {
	text := mustSign(t, testClaims(), testPriv("a"))
	q, err := qrcode.New(text, qrLevel)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d characters: QR version %d (%d modules)", len(text), q.VersionNumber, 17+4*q.VersionNumber)
	for _, c := range []Colour{Green, Yellow, Red} {
		t.Run(string(c), func(t *testing.T) {
			b, err := PNG(text, c, 400)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if got := img.Bounds(); got.Dx() != 400 || got.Dy() != 400 {
				t.Fatalf("image %v; want 400×400", got)
			}
			res := scan(t, img)
			if res.GetText() != text {
				t.Fatalf("scanned %q; want %q", res.GetText(), text)
			}
			md := res.GetResultMetadata()
			if lvl := md[gozxing.ResultMetadataType_ERROR_CORRECTION_LEVEL]; lvl != "Q" {
				t.Errorf("error correction level %v; want Q", lvl)
			}
			if _, ok := md[gozxing.ResultMetadataType_BYTE_SEGMENTS]; ok {
				t.Errorf("the code has byte-mode segments")
			}
			modes := qrSegmentModes(t, res.GetRawBytes(), q.VersionNumber)
			if len(modes) == 0 || modes[0] != "alphanumeric" {
				t.Errorf("segments %v; want alphanumeric first", modes)
			}
			for _, m := range modes {
				if m != "alphanumeric" && m != "numeric" {
					t.Errorf("segments %v; want alphanumeric (and numeric) only", modes)
				}
			}

			// The frame: the pass colour at the edges, white inside it.
			want := color.RGBAModel.Convert(hexColour(c.Hex()))
			for _, p := range []image.Point{{0, 0}, {399, 399}, {200, 2}, {2, 200}} {
				if got := color.RGBAModel.Convert(img.At(p.X, p.Y)); got != want {
					t.Errorf("pixel %v = %v; want the %s band %v", p, got, c, want)
				}
			}
			l, _ := layoutQR(text, c)
			scale := 400 / l.total
			off := (400 - (l.total-2*l.band)*scale) / 2
			if got := color.RGBAModel.Convert(img.At(off+1, off+1)); got != color.RGBAModel.Convert(color.White) {
				t.Errorf("quiet zone pixel = %v; want white", got)
			}
			if off < MinColourBand*scale {
				t.Errorf("band of %d px; want at least %d modules of %d px", off, MinColourBand, scale)
			}
		})
	}
}

// TestPNGScansDamaged blots out part of the code: level Q recovers it.
func TestPNGScansDamaged(t *testing.T) {
	text := mustSign(t, testClaims(), testPriv("a"))
	b, err := PNG(text, Red, 500)
	if err != nil {
		t.Fatal(err)
	}
	src, _ := png.Decode(bytes.NewReader(b))
	img := image.NewRGBA(src.Bounds())
	draw.Draw(img, img.Bounds(), src, image.Point{}, draw.Src)
	// About 7% of the code's area, off the finder patterns.
	draw.Draw(img, image.Rect(210, 230, 290, 300), image.NewUniform(color.White), image.Point{}, draw.Src)
	if got := scan(t, img).GetText(); got != text {
		t.Fatalf("scanned %q", got)
	}
}

func TestSVGScans(t *testing.T) {
	text := mustSign(t, testClaims(), testPriv("a"))
	for _, c := range []Colour{Green, Yellow, Red} {
		svg, err := SVG(text, c)
		if err != nil {
			t.Fatal(err)
		}
		// Well-formed XML.
		dec := xml.NewDecoder(strings.NewReader(svg))
		for {
			_, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: SVG is not XML: %v", c, err)
			}
		}
		if !strings.Contains(svg, `fill="`+c.Hex()+`"`) || !strings.Contains(svg, "<title>Health pass, "+string(c)+"</title>") {
			t.Errorf("%s: SVG lacks the colour band or title", c)
		}
		// Rasterise it at 5 px a unit and scan that.
		m := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindStringSubmatch(svg)
		total, _ := strconv.Atoi(m[1])
		const px = 5
		img := image.NewRGBA(image.Rect(0, 0, total*px, total*px))
		draw.Draw(img, img.Bounds(), image.NewUniform(hexColour(c.Hex())), image.Point{}, draw.Src)
		r := regexp.MustCompile(`<rect x="(\d+)" y="(\d+)" width="(\d+)" height="(\d+)" fill="#ffffff"/>`).FindStringSubmatch(svg)
		x, _ := strconv.Atoi(r[1])
		w, _ := strconv.Atoi(r[3])
		draw.Draw(img, image.Rect(x*px, x*px, (x+w)*px, (x+w)*px), image.NewUniform(color.White), image.Point{}, draw.Src)
		runs := regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-(\d+)z`).FindAllStringSubmatch(svg, -1)
		if len(runs) == 0 {
			t.Fatalf("%s: no modules in the SVG", c)
		}
		for _, run := range runs {
			x, _ := strconv.Atoi(run[1])
			y, _ := strconv.Atoi(run[2])
			n, _ := strconv.Atoi(run[3])
			draw.Draw(img, image.Rect(x*px, y*px, (x+n)*px, (y+1)*px), image.NewUniform(color.Black), image.Point{}, draw.Src)
		}
		if got := scan(t, img).GetText(); got != text {
			t.Errorf("%s: SVG scanned %q", c, got)
		}
	}
}

func TestQRRefuses(t *testing.T) {
	text := mustSign(t, testClaims(), testPriv("a"))
	for name, tc := range map[string]struct {
		text   string
		colour Colour
		size   int
		want   error
	}{
		"unknown colour": {text, "blue", 400, ErrInvalidClaims},
		"lowercase":      {strings.ToLower(text), Green, 400, ErrNotAlphanumeric},
		"byte text":      {"OB1:é", Green, 400, ErrNotAlphanumeric},
		"empty":          {"", Green, 400, ErrNotAlphanumeric},
		"too long":       {strings.Repeat("0", MaxPassLen+1), Green, 4000, ErrNotAlphanumeric},
		"too small":      {text, Green, 60, ErrImageTooSmall},
		"zero size":      {text, Green, 0, ErrImageTooSmall},
		"negative size":  {text, Green, -5, ErrImageTooSmall},
	} {
		if _, err := PNG(tc.text, tc.colour, tc.size); !errors.Is(err, tc.want) {
			t.Errorf("PNG %s: %v; want %v", name, err, tc.want)
		}
		if tc.want == ErrImageTooSmall {
			continue
		}
		if _, err := SVG(tc.text, tc.colour); !errors.Is(err, tc.want) {
			t.Errorf("SVG %s: %v; want %v", name, err, tc.want)
		}
	}
}

// TestQRAlphanumericSet pins the set to the QR specification: digits, upper
// case letters, space and $%*+-./: — the Base45 alphabet and "OB1:" in it.
func TestQRAlphanumericSet(t *testing.T) {
	const set = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	for b := range 256 {
		if got, want := isQRAlphanumeric(string([]byte{byte(b)})), strings.IndexByte(set, byte(b)) >= 0; got != want {
			t.Errorf("%q: %v; want %v", byte(b), got, want)
		}
	}
	if !isQRAlphanumeric(Prefix + base45Alphabet) {
		t.Error("prefix or alphabet outside the set")
	}
}
