package exposure

import (
	"strconv"

	"github.com/outbreak-platform/outbreak/internal/civil"
	"github.com/outbreak-platform/outbreak/internal/i18n"
)

// DateText words a date for the public: "3 Feb", "2月3日".
func DateText(l *i18n.Localizer, d civil.Date) string {
	return d.Time().Format(l.T("public.date_layout"))
}

// Text words a window: "3 Feb, 10:05–12:40"; one that ends at midnight
// ends at 24:00, one that runs past it names both dates.
func (w Window) Text(l *i18n.Localizer) string {
	to := w.To.Format("15:04")
	end := civil.Of(w.To)
	if end != w.Date && end == w.Date.AddDays(1) && w.To.Hour() == 0 && w.To.Minute() == 0 {
		end, to = w.Date, "24:00"
	}
	if end != w.Date {
		return l.T("public.window_overnight", "Date", DateText(l, w.Date), "From", w.From.Format("15:04"),
			"ToDate", DateText(l, end), "To", to)
	}
	return l.T("public.window", "Date", DateText(l, w.Date), "From", w.From.Format("15:04"), "To", to)
}

// DistanceText words a distance in metres, rounded to 10 m.
func DistanceText(l *i18n.Localizer, metres float64) string {
	return l.T("public.metres", "M", strconv.Itoa(int(metres/10+0.5)*10))
}
