package pass

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"

	"github.com/skip2/go-qrcode"
)

// QR code layout, in modules, from the outside in: a band in the pass colour,
// a white quiet zone, the code.
const (
	// QuietZone is the white margin the QR specification asks for.
	QuietZone = 4
	// MinColourBand is the narrowest colour band; larger codes get a band
	// one eighth of their width.
	MinColourBand = 6
)

// qrLevel is error-correction level Q (25% recovery), the level of the EU
// Digital COVID Certificate. go-qrcode calls it High: its formatInfo writes
// the level bits 11, which are Q in ISO/IEC 18004 (Highest is H).
const qrLevel = qrcode.High

// ErrNotAlphanumeric means a text is not a pass text that fits the QR
// alphanumeric mode: empty, longer than MaxPassLen, or with a character
// outside the mode's set.
var ErrNotAlphanumeric = errors.New("text is not QR alphanumeric pass text")

// ErrImageTooSmall means the requested image has fewer pixels than modules.
var ErrImageTooSmall = errors.New("image too small for the QR code")

// isQRAlphanumeric reports whether s uses only the 45 characters of the QR
// alphanumeric mode (digits, A-Z, space, $%*+-./:), so that an encoder packs
// it in that mode rather than in bytes. Pass text always does: its prefix
// "OB1:" and the Base45 alphabet are all in the set.
func isQRAlphanumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if base45Values[s[i]] >= 45 {
			return false
		}
	}
	return true
}

// qrLayout is a pass's QR code and its frame.
type qrLayout struct {
	modules [][]bool // the code alone, [y][x], true is dark
	band    int      // colour band width in modules
	total   int      // modules across, frame included
	colour  color.RGBA
}

func layoutQR(text string, c Colour) (qrLayout, error) {
	if !c.Valid() {
		return qrLayout{}, fmt.Errorf("%w: unknown colour %q", ErrInvalidClaims, c)
	}
	if text == "" || len(text) > MaxPassLen {
		return qrLayout{}, fmt.Errorf("%w: %d characters", ErrNotAlphanumeric, len(text))
	}
	if !isQRAlphanumeric(text) {
		return qrLayout{}, ErrNotAlphanumeric
	}
	q, err := qrcode.New(text, qrLevel)
	if err != nil {
		return qrLayout{}, fmt.Errorf("encode QR code: %w", err)
	}
	q.DisableBorder = true // the frame below draws its own quiet zone
	m := q.Bitmap()
	band := max(MinColourBand, (len(m)+2*QuietZone)/8)
	return qrLayout{
		modules: m,
		band:    band,
		total:   len(m) + 2*QuietZone + 2*band,
		colour:  hexColour(c.Hex()),
	}, nil
}

func hexColour(h string) color.RGBA {
	v, _ := strconv.ParseUint(h[1:], 16, 32)
	return color.RGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

// PNG renders the text of a pass as a size×size pixel PNG: the QR code at
// error-correction level Q in alphanumeric mode, inside a white quiet zone,
// inside a thick band in the pass colour so it shows at a glance. size must
// leave at least one pixel per module (about 80 for a pass; 300 or more
// scans well from a phone screen).
func PNG(text string, c Colour, size int) ([]byte, error) {
	l, err := layoutQR(text, c)
	if err != nil {
		return nil, fmt.Errorf("render pass PNG: %w", err)
	}
	scale := size / l.total
	if scale < 1 {
		return nil, fmt.Errorf("render pass PNG: %w: %d px for %d modules", ErrImageTooSmall, size, l.total)
	}
	const white, black, band = 0, 1, 2
	img := image.NewPaletted(image.Rect(0, 0, size, size),
		color.Palette{color.White, color.Black, l.colour})
	fill := func(x0, y0, x1, y1 int, idx uint8) {
		for y := y0; y < y1; y++ {
			row := img.Pix[y*img.Stride:]
			for x := x0; x < x1; x++ {
				row[x] = idx
			}
		}
	}
	fill(0, 0, size, size, band)
	// The pixels that do not divide into modules widen the band.
	inner := (l.total - 2*l.band) * scale
	off := (size - inner) / 2
	fill(off, off, off+inner, off+inner, white)
	origin := off + QuietZone*scale
	for y, row := range l.modules {
		for x, dark := range row {
			if dark {
				px, py := origin+x*scale, origin+y*scale
				fill(px, py, px+scale, py+scale, black)
			}
		}
	}
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&b, img); err != nil {
		return nil, fmt.Errorf("render pass PNG: %w", err)
	}
	return b.Bytes(), nil
}

// SVG renders the text of a pass as an SVG document with the same layout as
// PNG, one unit per module. It scales without blur; give it a CSS size of
// 300 px or more on a phone screen.
func SVG(text string, c Colour) (string, error) {
	l, err := layoutQR(text, c)
	if err != nil {
		return "", fmt.Errorf("render pass SVG: %w", err)
	}
	t, q := l.total, l.band
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges" role="img" aria-label="Health pass, %s">`,
		t, t, t*6, t*6, c)
	fmt.Fprintf(&b, `<title>Health pass, %s</title>`, c)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="%s"/>`, t, t, c.Hex())
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#ffffff"/>`, q, q, t-2*q, t-2*q)
	b.WriteString(`<path fill="#000000" d="`)
	origin := q + QuietZone
	for y, row := range l.modules {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			run := 1
			for x+run < len(row) && row[x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", origin+x, origin+y, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return b.String(), nil
}
