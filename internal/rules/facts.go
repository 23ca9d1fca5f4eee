package rules

import (
	"time"

	"github.com/outbreak-platform/outbreak/internal/civil"
)

// Facts is what the platform knows about one person at one moment, already
// gathered from the stores: case register, contact tracing, declarations,
// visits joined with the risk level of the region on that day, test results
// and quarantine orders. Evaluate reads nothing else.
//
// A record whose date is missing (the zero civil.Date) is treated as dated
// on the day of evaluation: the safe side for the holder's contacts.
type Facts struct {
	// Now is the moment of evaluation; its location decides what "today"
	// is, so pass it in the region's time zone.
	Now time.Time

	CaseStatus CaseStatus
	CaseSince  civil.Date // the day the current case status was recorded

	Contacts          []Contact
	LatestDeclaration *Declaration
	// Declarations are the holder's recent declarations, newest first,
	// LatestDeclaration among them; when empty, LatestDeclaration is the
	// only one known. A rule counted from the declaration date (release
	// from: declaration_date) holds from the latest declaration that
	// matched it, even when later ones report nothing: symptoms declared
	// one day hold their quarantine after "no symptoms" the next.
	Declarations []Declaration
	Visits       []Visit
	Tests        []Test
	Quarantine   *Quarantine

	// DeclarationDueHours is how many hours ago a declaration the holder
	// was asked for became due; 0 when none is due.
	DeclarationDueHours int
}

// CaseStatus is a person's entry in the case register; "" means none.
type CaseStatus string

const (
	CaseNone         CaseStatus = ""
	CaseSuspected    CaseStatus = "suspected"
	CaseConfirmed    CaseStatus = "confirmed"
	CaseAsymptomatic CaseStatus = "asymptomatic"
	CaseRecovered    CaseStatus = "recovered"
	// CaseRuledOut: not a case — a suspicion ruled out, or a confirmation
	// retracted (its contacts are withdrawn).
	CaseRuledOut CaseStatus = "ruled_out"
)

// ContactKind says how close a traced contact was.
type ContactKind string

const (
	ContactClose     ContactKind = "close"
	ContactSecondary ContactKind = "secondary"
)

// Contact is one contact-tracing record naming this person.
type Contact struct {
	Kind      ContactKind
	ExposedOn civil.Date
	// Evidence is shown to the holder, e.g. "Jiefang Road Market on
	// 2020-02-03 10:05–10:40".
	Evidence string
	// EvidenceZH, when set, is Evidence in Chinese (traced contacts carry
	// both; evidence typed by staff is shown as typed).
	EvidenceZH string
}

// Declaration is one of the holder's health declarations.
type Declaration struct {
	At              time.Time
	TemperatureC    float64
	Symptoms        []string // values of the Symptom vocabulary; others are ignored
	ContactWithCase bool
}

// Symptoms a declaration may report.
const (
	SymptomFever             = "fever"
	SymptomCough             = "cough"
	SymptomFatigue           = "fatigue"
	SymptomSoreThroat        = "sore_throat"
	SymptomLossOfTasteSmell  = "loss_of_taste_smell"
	SymptomShortnessOfBreath = "shortness_of_breath"
	SymptomDiarrhoea         = "diarrhoea"
)

// RiskLevel is a region's epidemic risk on a given day.
type RiskLevel string

const (
	RiskLow    RiskLevel = "low"
	RiskMedium RiskLevel = "medium"
	RiskHigh   RiskLevel = "high"
)

// Visit is a stay in a region, joined with that region's risk on the day.
type Visit struct {
	RegionCode string
	RegionName string
	Risk       RiskLevel
	On         civil.Date
}

// TestKind and TestResult describe a laboratory result.
type (
	TestKind   string
	TestResult string
)

const (
	TestPCR      TestKind   = "pcr"
	TestAntibody TestKind   = "antibody"
	TestNegative TestResult = "negative"
	TestPositive TestResult = "positive"
)

// Test is one laboratory result.
type Test struct {
	Kind      TestKind
	Result    TestResult
	SampledOn civil.Date
}

// QuarantineKind says where a quarantine order is served.
type QuarantineKind string

const (
	QuarantineHome        QuarantineKind = "home"
	QuarantineCentralised QuarantineKind = "centralised"
)

// Quarantine is the authority's quarantine order; End is its last day.
type Quarantine struct {
	Kind  QuarantineKind
	Start civil.Date
	End   civil.Date
}

// DefaultFeverC is the temperature from which a declaration counts as fever.
const DefaultFeverC = 37.3

// vocabulary is one closed list of words the rule file may use, with the
// words' zh and en labels for explanations. A word's bit is 1<<index.
type vocabulary struct {
	name  string
	words []string
	zh    []string
	en    []string
}

func (v *vocabulary) bit(word string) (uint32, bool) {
	for i, w := range v.words {
		if w == word {
			return 1 << i, true
		}
	}
	return 0, false
}

func (v *vocabulary) label(word string, l Lang) string {
	for i, w := range v.words {
		if w == word {
			if l == LangZH {
				return v.zh[i]
			}
			return v.en[i]
		}
	}
	return word
}

var (
	caseWords = vocabulary{
		name:  "case status",
		words: []string{"suspected", "confirmed", "asymptomatic", "recovered", "ruled_out"},
		zh:    []string{"疑似病例", "确诊病例", "无症状感染者", "已治愈出院", "已排除"},
		en:    []string{"suspected case", "confirmed case", "asymptomatic infection", "recovered", "ruled out"},
	}
	contactWords = vocabulary{
		name:  "contact kind",
		words: []string{"close", "secondary"},
		zh:    []string{"密切接触者", "次密切接触者"},
		en:    []string{"close contact", "secondary contact"},
	}
	riskWords = vocabulary{
		name:  "risk level",
		words: []string{"low", "medium", "high"},
		zh:    []string{"低", "中", "高"},
		en:    []string{"low", "medium", "high"},
	}
	symptomWords = vocabulary{
		name: "symptom",
		words: []string{SymptomFever, SymptomCough, SymptomFatigue, SymptomSoreThroat,
			SymptomLossOfTasteSmell, SymptomShortnessOfBreath, SymptomDiarrhoea},
		zh: []string{"发热", "咳嗽", "乏力", "咽痛", "嗅觉或味觉减退", "呼吸困难", "腹泻"},
		en: []string{"fever", "cough", "fatigue", "sore throat", "loss of taste or smell",
			"shortness of breath", "diarrhoea"},
	}
	quarantineWords = vocabulary{
		name:  "quarantine kind",
		words: []string{"home", "centralised"},
		zh:    []string{"居家隔离", "集中隔离"},
		en:    []string{"home quarantine", "centralised quarantine"},
	}
	testWords = vocabulary{
		name:  "test kind",
		words: []string{"pcr", "antibody", "any"},
		zh:    []string{"核酸", "抗体", "核酸或抗体"},
		en:    []string{"PCR (nucleic acid)", "antibody", "PCR or antibody"},
	}
)

// feverBit is the bit of "fever" in symptomWords.
const feverBit = 1

// day is a date as a count of days since 1970-01-01, so that the evaluator
// compares and adds dates with integer arithmetic.
type day int64

// dayOf converts d with the days-from-civil algorithm (Howard Hinnant). It
// is total: an impossible date gives some number, never a panic.
func dayOf(d civil.Date) day {
	y, m := int64(d.Year), int64(d.Month)
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + int64(d.Day) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return day(era*146097 + doe - 719468)
}

// date converts n back to a civil.Date.
func (n day) date() civil.Date {
	z := int64(n) + 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return civil.Date{Year: int(y), Month: time.Month(m), Day: int(d)}
}
