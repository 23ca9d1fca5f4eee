package venue

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strconv"
	"unicode/utf16"
)

// The PDF poster is the SVG poster's layout drawn with PDF operators, and
// embeds no font: Latin text is set in Helvetica, one of the standard
// fonts every PDF reader has, and everything else — Chinese above all — in
// STSong-Light, the Adobe-GB1 font that PDF readers supply themselves (with
// the predefined UniGB-UTF16-H encoding), as Chinese PDFs from iText and
// others have long done. The binary stays small, and the file is a few
// kilobytes. A ToUnicode map keeps the text searchable and copyable. The
// QR code is drawn as filled rectangles.

// mm is one millimetre in PDF points.
const mm = 72 / 25.4

// Font resource names.
const (
	fontCJK       = "F1" // STSong-Light, UniGB-UTF16-H
	fontLatin     = "F2" // Helvetica, WinAnsiEncoding
	fontLatinBold = "F3" // Helvetica-Bold
)

// helvetica holds the advance widths (per 1000 em) of Helvetica and
// Helvetica-Bold for ' ' to '~', from their Adobe font metrics.
var helvetica = [2][95]uint16{
	{278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556,
		278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667,
		611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833,
		556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584},
	{278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556, 556, 556, 556, 556, 556, 556, 556,
		333, 333, 584, 584, 584, 611, 975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778, 667, 778, 722, 667,
		611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556, 333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889,
		611, 611, 611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584},
}

// latin reports whether r is set in Helvetica: printable ASCII, and the
// middle dot the poster puts between words (WinAnsi 0xB7).
func latin(r rune) bool { return r >= ' ' && r <= '~' || r == '·' }

// pdfRun is a piece of a line in one font.
type pdfRun struct {
	cjk  bool
	text []rune
}

// pdfRuns splits s into runs of Latin and of other text, and returns them
// with the width of s at size 1.
func pdfRuns(s string, bold bool) ([]pdfRun, float64) {
	var runs []pdfRun
	w := 0.0
	b := 0
	if bold {
		b = 1
	}
	for _, r := range s {
		cjk := !latin(r)
		if n := len(runs); n == 0 || runs[n-1].cjk != cjk {
			runs = append(runs, pdfRun{cjk: cjk})
		}
		runs[len(runs)-1].text = append(runs[len(runs)-1].text, r)
		switch {
		case cjk:
			w += 1 // STSong-Light's default width: a full em
		case r == '·':
			w += 0.278
		default:
			w += float64(helvetica[b][r-' ']) / 1000
		}
	}
	return runs, w
}

// pdf writes the poster as a one-page A4 PDF.
func (l *posterLayout) pdf() ([]byte, error) {
	var c bytes.Buffer
	// Millimetres from the top left, as the layout has them.
	fmt.Fprintf(&c, "%s 0 0 %s 0 %s cm\n", pdfNum(mm), pdfNum(-mm), pdfNum(pageH*mm))
	c.WriteString("1 1 1 rg 0 0 210 297 re f\n")
	fmt.Fprintf(&c, "%s rg 0 0 210 %s re f\n", pdfColour(accent), pdfNum(headerH))
	for _, t := range l.header {
		pdfText(&c, t)
	}
	for _, t := range l.lines {
		pdfText(&c, t)
	}
	// The QR code: its quiet zone white, each run of dark modules a
	// rectangle.
	fmt.Fprintf(&c, "q 1 0 0 1 %s %s cm %s 0 0 %s 0 0 cm\n", pdfNum(l.qrX), pdfNum(l.qrY),
		strconv.FormatFloat(l.qrModuleMM, 'f', 6, 64), strconv.FormatFloat(l.qrModuleMM, 'f', 6, 64))
	n := len(l.modules) + 2*qrQuietZone
	fmt.Fprintf(&c, "1 1 1 rg 0 0 %d %d re f\n0 0 0 rg\n", n, n)
	l.runs(func(x, y, run int) { fmt.Fprintf(&c, "%d %d %d 1 re\n", x, y, run) })
	c.WriteString("f\nQ\n")

	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(c.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	toUnicode := toUnicodeCMap()

	objs := []string{
		1: "<< /Type /Catalog /Pages 2 0 R /Lang " + pdfString(htmlLang(l.lang)) + " >>",
		2: "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		3: fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Contents 4 0 R "+
			"/Resources << /Font << /%s 5 0 R /%s 8 0 R /%s 9 0 R >> >> >>", pdfNum(pageW*mm), pdfNum(pageH*mm), fontCJK, fontLatin, fontLatinBold),
		4: fmt.Sprintf("<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream", z.Len(), z.Bytes()),
		5: "<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UTF16-H /DescendantFonts [6 0 R] /ToUnicode 10 0 R >>",
		6: "<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light " +
			"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 4 >> /FontDescriptor 7 0 R /DW 1000 >>",
		7: "<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 /FontBBox [-25 -254 1000 880] /ItalicAngle 0 " +
			"/Ascent 880 /Descent -120 /CapHeight 880 /StemV 93 >>",
		8:  "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		9:  "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
		10: fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(toUnicode), toUnicode),
		11: "<< /Title " + pdfString(l.title) + " /Producer (outbreak) >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i := 1; i < len(objs); i++ {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i, objs[i])
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs))
	for i := 1; i < len(objs); i++ {
		fmt.Fprintf(&b, "%010d 00000 n \n", offsets[i])
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 11 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs), xref)
	return b.Bytes(), nil
}

// pdfText sets one line of the layout, centred on the page: each run in
// its font, bold Chinese drawn filled and stroked (STSong-Light has one
// weight).
func pdfText(c *bytes.Buffer, t svgText) {
	bold := t.weight >= 600
	runs, w := pdfRuns(t.text, bold)
	fill := t.fill
	if fill == "" {
		fill = "#111111"
	}
	x := (pageW - w*t.size) / 2
	fmt.Fprintf(c, "BT %s rg %s RG %s w\n", pdfColour(fill), pdfColour(fill), pdfNum(t.size*0.03))
	// The text matrix flips y back, so that glyphs stand upright.
	fmt.Fprintf(c, "%s 0 0 %s %s %s Tm\n", pdfNum(t.size), pdfNum(-t.size), pdfNum(x), pdfNum(t.y))
	for _, r := range runs {
		if r.cjk {
			mode := 0
			if bold {
				mode = 2
			}
			fmt.Fprintf(c, "/%s 1 Tf %d Tr <", fontCJK, mode)
			for _, u := range utf16.Encode(r.text) {
				fmt.Fprintf(c, "%04X", u)
			}
			c.WriteString("> Tj\n")
			continue
		}
		font := fontLatin
		if bold {
			font = fontLatinBold
		}
		fmt.Fprintf(c, "/%s 1 Tf 0 Tr (", font)
		for _, r := range r.text {
			switch r {
			case '(', ')', '\\':
				c.WriteByte('\\')
				c.WriteRune(r)
			case '·':
				c.WriteString(`\267`)
			default:
				c.WriteRune(r)
			}
		}
		c.WriteString(") Tj\n")
	}
	c.WriteString("ET\n")
}

// toUnicodeCMap maps STSong-Light's two-byte codes, which are UTF-16BE
// code units under UniGB-UTF16-H, back to the same code units.
func toUnicodeCMap() string {
	var b bytes.Buffer
	b.WriteString("/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n" +
		"/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n" +
		"1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n")
	// A range may not cross a change of its first byte, and holds at most
	// 100 entries a block.
	for hi := 0; hi < 256; hi += 100 {
		n := min(100, 256-hi)
		fmt.Fprintf(&b, "%d beginbfrange\n", n)
		for h := hi; h < hi+n; h++ {
			fmt.Fprintf(&b, "<%02X00> <%02XFF> <%02X00>\n", h, h, h)
		}
		b.WriteString("endbfrange\n")
	}
	b.WriteString("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend")
	return b.String()
}

// pdfString writes s as a PDF text string: UTF-16BE with a byte order mark.
func pdfString(s string) string {
	var b bytes.Buffer
	b.WriteString("<FEFF")
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04X", u)
	}
	b.WriteString(">")
	return b.String()
}

// pdfColour turns "#rrggbb" into PDF's "r g b".
func pdfColour(hex string) string {
	v, err := strconv.ParseUint(hex[1:], 16, 32)
	if len(hex) != 7 || err != nil {
		return "0 0 0"
	}
	return fmt.Sprintf("%s %s %s", pdfNum(float64(v>>16&0xff)/255), pdfNum(float64(v>>8&0xff)/255), pdfNum(float64(v&0xff)/255))
}

func pdfNum(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
