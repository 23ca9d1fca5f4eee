package venue

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/skip2/go-qrcode"

	"github.com/outbreak-platform/outbreak/internal/i18n"
)

// Posters are A4 SVG documents in millimetres, printable as they are: a
// browser prints them at size, and its print-to-PDF makes the PDF. (No PDF
// is written here: a pure-Go PDF library would have to embed a CJK font of
// several megabytes to draw arbitrary place names.)
const (
	pageW, pageH = 210.0, 297.0
	margin       = 15.0
	textW        = pageW - 2*margin
	// qrLevel is error-correction level Q: go-qrcode calls it High (see
	// internal/pass/qr.go).
	qrLevel     = qrcode.High
	qrQuietZone = 4
	qrMaxSide   = 130.0 // mm, quiet zone included
	qrMinSide   = 60.0
	headerH     = 40.0
	accent      = "#0b5394"
	fontFamily  = `'Noto Sans CJK SC','Source Han Sans SC','PingFang SC','Microsoft YaHei','WenQuanYi Micro Hei',sans-serif`
)

// PosterAs returns the A4 poster of a place, or of one carriage of a
// train when carriage > 0, in format f: its signed QR code, its name, type
// and address, and how to scan, in Chinese and in English; lang ("zh" or
// "en") is the language shown first.
func (c *Codes) PosterAs(p Place, carriage int, lang string, f Format) ([]byte, error) {
	var code string
	var err error
	if carriage > 0 {
		code, err = c.SignCarriageCode(p, carriage)
	} else {
		code, err = c.SignPlaceCode(p)
	}
	if err != nil {
		return nil, err
	}
	return c.render(p, code, carriage, lang, f)
}

func (c *Codes) render(p Place, code string, carriage int, lang string, f Format) ([]byte, error) {
	cat, err := c.catalog()
	if err != nil {
		return nil, fmt.Errorf("venue: poster: %w", err)
	}
	if c.CheckInURL != "" {
		code = c.CheckInURL + "#" + url.PathEscape(code)
	}
	l, err := layoutPoster(cat, p, code, carriage, lang)
	if err != nil {
		return nil, err
	}
	if f == PDF {
		return l.pdf()
	}
	return l.svg(), nil
}

// Format is a poster's file format.
type Format int

// Formats.
const (
	SVG Format = iota
	PDF
)

// Ext is the format's file name extension.
func (f Format) Ext() string {
	if f == PDF {
		return "pdf"
	}
	return "svg"
}

// FormatOf tells the format a request path asks for by its extension:
// ".pdf" or anything else, SVG.
func FormatOf(path string) Format {
	if strings.HasSuffix(path, ".pdf") {
		return PDF
	}
	return SVG
}

// WritePoster sends a poster as a file to save or print, named for its
// place.
func WritePoster(w http.ResponseWriter, p Place, carriage int, lang string, f Format, body []byte) {
	typ := "image/svg+xml"
	if f == PDF {
		typ = "application/pdf"
	}
	w.Header().Set("Content-Type", typ)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": PosterFileName(p, carriage, lang, f)}))
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	// Opened by itself, the poster may draw and style itself, nothing more.
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Write(body)
}

// svgText is one line of text on the page.
type svgText struct {
	y, size float64
	text    string
	weight  int    // 0: normal
	fill    string // "": near black
	lang    string // "": the page's
}

// posterLayout is a poster laid out on the page, in millimetres from the
// top left, for the SVG and PDF writers alike.
type posterLayout struct {
	lang       string // the page's language, "zh" or "en"
	title      string // the document's title
	header     [2]svgText
	lines      []svgText
	modules    [][]bool // the QR code's modules, without the quiet zone
	qrX, qrY   float64  // top left of the QR code, quiet zone included
	qrSide     float64
	qrModuleMM float64
}

func layoutPoster(cat *i18n.Catalog, p Place, code string, carriage int, lang string) (posterLayout, error) {
	if lang != "en" {
		lang = "zh"
	}
	other := map[string]string{"zh": "en", "en": "zh"}[lang]
	first, second := cat.For(lang), cat.For(other)
	both := func(id string, args ...any) [2]string { return [2]string{first.T(id, args...), second.T(id, args...)} }
	langs := [2]string{lang, other}

	q, err := qrcode.New(code, qrLevel)
	if err != nil {
		return posterLayout{}, fmt.Errorf("venue: poster QR code: %w", err)
	}
	q.DisableBorder = true
	modules := q.Bitmap()

	var lines []svgText
	add := func(y *float64, size, lead float64, text string, weight int, fill, lng string) {
		*y += size * 0.85
		lines = append(lines, svgText{y: *y, size: size, text: text, weight: weight, fill: fill, lang: lng})
		*y += size * (lead - 0.85)
	}

	// Top down: the place.
	y := headerH + 12
	size, name := fit(p.Name, 13, 7, textW, 2)
	for _, l := range name {
		add(&y, size, 1.2, l, 700, "", "")
	}
	y += 2
	typ := both("venue.type." + string(p.Type))
	detail := typ[0] + " · " + typ[1]
	if p.Kind == Vehicle {
		date := p.ServiceDate.String()
		if p.ServiceDate.IsZero() {
			daily := both("venue.poster.daily")
			date = daily[0] + " " + daily[1]
		}
		detail += " · " + p.ServiceNumber + " · " + date
	}
	size, det := fit(detail, 6, 4, textW, 2)
	for _, l := range det {
		add(&y, size, 1.3, l, 0, "#333333", "")
	}
	if p.Address != "" {
		y += 1
		size, addr := fit(p.Address, 5.5, 3.5, textW, 4)
		for _, l := range addr {
			add(&y, size, 1.3, l, 0, "#333333", "")
		}
	}
	if carriage > 0 {
		y += 3
		car := both("venue.poster.carriage", "n", carriage)
		add(&y, 10, 1.2, car[0]+" · "+car[1], 700, accent, "")
	}
	top := y + 5

	// Bottom up: how to scan, then the small print.
	scanID := "venue.poster.scan"
	if p.Kind == Vehicle {
		scanID = "venue.poster.scan_vehicle"
	}
	scan := both(scanID)
	var bottom []svgText
	by := 0.0
	addB := func(size, lead float64, text string, weight int, fill, lng string) {
		by += size * 0.85
		bottom = append(bottom, svgText{y: by, size: size, text: text, weight: weight, fill: fill, lang: lng})
		by += size * (lead - 0.85)
	}
	for i, s := range scan {
		sz := []float64{5.2, 4.4}[i]
		for _, l := range wrap(s, sz, textW) {
			addB(sz, 1.35, l, []int{700, 0}[i], "", langs[i])
		}
		by += 1.5
	}
	by += 2
	keep, purpose := both("venue.poster.keep"), both("venue.poster.purpose")
	for i := range 2 {
		for _, l := range wrap(keep[i]+" "+purpose[i], 3.4, textW) {
			addB(3.4, 1.35, l, 0, "#555555", langs[i])
		}
	}
	by += 2
	footer := []string{Prefix[:len(Prefix)-1]}
	if where := strings.TrimSpace(p.JurisdictionName(lang) + " " + p.JurisdictionName(other)); where != "" {
		footer = append(footer, where)
	}
	footer = append(footer, first.T("venue.poster.id", "id", p.ID))
	addB(3, 1.3, strings.Join(footer, " · "), 0, "#777777", "")
	bottomTop := pageH - 10 - by
	for i := range bottom {
		bottom[i].y += bottomTop
	}
	lines = append(lines, bottom...)

	side := min(qrMaxSide, bottomTop-4-top)
	if side < qrMinSide {
		return posterLayout{}, fmt.Errorf("venue: poster: no room for the QR code (%.0f mm)", side)
	}
	label, title := both("venue.poster.label"), both("venue.poster.title")
	// The QR code, quiet zone included, centred in the space left.
	n := len(modules) + 2*qrQuietZone
	return posterLayout{
		lang:  lang,
		title: label[0] + " / " + label[1] + " · " + p.Name,
		header: [2]svgText{{y: 20, size: 13, text: title[0], weight: 700, fill: "#ffffff", lang: langs[0]},
			{y: 32, size: 7.5, text: title[1], fill: "#ffffff", lang: langs[1]}},
		lines: lines, modules: modules,
		qrX: (pageW - side) / 2, qrY: top + (bottomTop-4-top-side)/2, qrSide: side, qrModuleMM: side / float64(n),
	}, nil
}

// runs calls fn with each horizontal run of dark modules of the QR code,
// in modules from its top left, quiet zone included.
func (l *posterLayout) runs(fn func(x, y, n int)) {
	for my, row := range l.modules {
		for mx := 0; mx < len(row); {
			if !row[mx] {
				mx++
				continue
			}
			run := 1
			for mx+run < len(row) && row[mx+run] {
				run++
			}
			fn(qrQuietZone+mx, qrQuietZone+my, run)
			mx += run
		}
	}
}

// svg writes the poster as an SVG document.
func (l *posterLayout) svg() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0" encoding="UTF-8"?>`+"\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="210mm" height="297mm" viewBox="0 0 210 297" lang="%s" font-family="%s">`+"\n",
		htmlLang(l.lang), fontFamily)
	fmt.Fprintf(&b, "<title>%s</title>\n", esc(l.title))
	b.WriteString(`<rect width="210" height="297" fill="#ffffff"/>` + "\n")
	fmt.Fprintf(&b, `<rect width="210" height="%s" fill="%s"/>`+"\n", num(headerH), accent)
	for _, t := range l.header {
		writeText(&b, t)
	}
	for _, t := range l.lines {
		writeText(&b, t)
	}
	n := len(l.modules) + 2*qrQuietZone
	fmt.Fprintf(&b, `<g id="qr" transform="translate(%s %s) scale(%s)" shape-rendering="crispEdges">`+"\n", num(l.qrX), num(l.qrY),
		strconv.FormatFloat(l.qrModuleMM, 'f', 6, 64))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", n, n)
	b.WriteString(`<path fill="#000000" d="`)
	l.runs(func(x, y, run int) { fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x, y, run, run) })
	b.WriteString("\"/>\n</g>\n</svg>\n")
	return b.Bytes()
}

func htmlLang(l string) string {
	if l == "en" {
		return "en"
	}
	return "zh-Hans"
}

func writeText(b *bytes.Buffer, t svgText) {
	fill := t.fill
	if fill == "" {
		fill = "#111111"
	}
	fmt.Fprintf(b, `<text x="105" y="%s" font-size="%s" text-anchor="middle" fill="%s"`, num(t.y), num(t.size), fill)
	if t.weight != 0 {
		fmt.Fprintf(b, ` font-weight="%d"`, t.weight)
	}
	if t.lang != "" {
		fmt.Fprintf(b, ` lang="%s"`, htmlLang(t.lang))
	}
	fmt.Fprintf(b, ">%s</text>\n", esc(t.text))
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// runeWidth estimates the advance of r in ems in a sans-serif CJK font,
// erring wide so that an estimated line never overflows the page.
func runeWidth(r rune) float64 {
	switch {
	case r == ' ':
		return 0.32
	case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul),
		r >= 0x3000 && r <= 0x303F, r >= 0xFF00 && r <= 0xFF60, r >= 0x2E80 && r <= 0x2FDF:
		return 1.0
	case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == 'm', r == 'w', r == 'M', r == 'W':
		return 0.72
	case r < 0x80:
		return 0.58
	}
	return 0.75
}

func wide(r rune) bool { return runeWidth(r) >= 1 }

// tokens splits s into the units a line may break between: words of
// narrow characters, single wide characters, and single spaces.
func tokens(s string) []string {
	var out []string
	var word []rune
	flush := func() {
		if len(word) > 0 {
			out = append(out, string(word))
			word = word[:0]
		}
	}
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			flush()
			out = append(out, " ")
		case wide(r):
			flush()
			out = append(out, string(r))
		default:
			word = append(word, r)
		}
	}
	flush()
	return out
}

func textWidth(s string) float64 {
	w := 0.0
	for _, r := range s {
		w += runeWidth(r)
	}
	return w
}

// wrap breaks s into lines no wider than width at font size size (both in
// mm), between words and around CJK characters, inside a word only when it
// does not fit on a line of its own.
func wrap(s string, size, width float64) []string {
	var lines []string
	var line strings.Builder
	w := 0.0
	flush := func() {
		if t := strings.TrimSpace(line.String()); t != "" {
			lines = append(lines, t)
		}
		line.Reset()
		w = 0
	}
	for _, tok := range tokens(s) {
		tw := textWidth(tok) * size
		if tok == " " {
			if w > 0 {
				line.WriteByte(' ')
				w += tw
			}
			continue
		}
		if w+tw > width && w > 0 {
			flush()
		}
		if tw <= width {
			line.WriteString(tok)
			w += tw
			continue
		}
		for _, r := range tok {
			rw := runeWidth(r) * size
			if w+rw > width && w > 0 {
				flush()
			}
			line.WriteRune(r)
			w += rw
		}
	}
	flush()
	return lines
}

// fit picks the largest font size from hi down to lo (in half
// millimetres) at which s wraps into at most maxLines lines; at lo it
// takes as many lines as it needs.
func fit(s string, hi, lo, width float64, maxLines int) (float64, []string) {
	for size := hi; size >= lo; size -= 0.5 {
		if ls := wrap(s, size, width); len(ls) <= maxLines {
			return size, ls
		}
	}
	return lo, wrap(s, lo, width)
}
