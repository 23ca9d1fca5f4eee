package tracingbench

import (
	"cmp"
	"encoding/hex"
	"iter"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/outbreak-platform/outbreak/internal/tracing"
)

// MovementOptions size a synthetic movement.
type MovementOptions struct {
	// CheckIns is how many check-ins to make; Days is over how many days
	// (14 by default). The number of residents follows from both, at about
	// PerResidentDay check-ins a resident a day.
	CheckIns int
	Days     int
	Seed     uint64
	// Start is midnight of the first day in the region's zone; by default
	// 2026-02-01 in China Standard Time.
	Start time.Time
	// People, when set, are the residents who move — real ones, with their
	// ids, homes and what they do by day — in place of synthetic residents
	// whose number follows from CheckIns. CheckIns 0 then means every
	// check-in they make over Days.
	People []Person
	// Neighbourhoods is how many neighbourhoods People's homes are numbered
	// in (0 to Neighbourhoods-1), laid row by row on a square grid of
	// Side() columns; places are made in each. Needed with People.
	Neighbourhoods int
}

// Role is what a resident does on a working day.
type Role uint8

// Roles.
const (
	Worker  Role = iota // to an office, lunch out now and then
	Student             // to a school
	AtHome              // shops, a restaurant, now and then a hospital
)

// Person is a real resident a movement is made for.
type Person struct {
	ID   int64
	Home int // neighbourhood
	Role Role
	// Still: no movement of their own; only check-ins given to Add.
	Still bool
}

// PerResidentDay is about how many check-ins a synthetic resident makes a
// day: the compound gate out and back, work or school, a bus or metro
// ride for some, lunch for some, a shop or two, now and then a trip.
const PerResidentDay = 4.3

// Movement is a synthetic region's movement, deterministic from its seed:
// residents with homes (in neighbourhoods on a grid), workplaces or
// schools near home, favourite shops and restaurants nearby, a bus line or
// metro station for commuters, and now and then a train, flight or coach
// trip with a carriage and seat. Resident ids run from 1 to Residents.
type Movement struct {
	Options   MovementOptions
	Residents int
	// Places holds the kind of every place, trips included; ids run from 1
	// to len(Places).
	Places tracing.KindMap
	// End is the time of the last check-in's day end (unix seconds).
	End int64

	people []person
	hosp   []int64
	buses  []int64
	// trips holds each day's train, flight and coach services.
	trips [][3][]int64
	days  int
	side  int
	// where tells, by place id - 1, where each place is.
	where []PlaceSite
	// extra holds the check-ins given to Add, and their indexes by day.
	extra      []tracing.CheckIn
	extraByDay map[int][]int
}

// PlaceSite says where a place of a movement is, so that a caller can
// register it: a venue's neighbourhood; a vehicle's service.
type PlaceSite struct {
	ID   int64
	Kind tracing.Kind
	// Neighbourhood of a venue; -1 for a vehicle.
	Neighbourhood int
	// Service numbers vehicles from 0 within their kind: a bus line for a
	// bus (each line has BusesPerLine buses, Bus 0 to BusesPerLine-1); a
	// train, flight or coach service on Day (from 0, the day of Start).
	Service, Bus, Day int
}

// BusesPerLine is how many buses (places: each has its poster on board)
// run on a bus line.
const BusesPerLine = 10

type person struct {
	id                    int64
	role                  Role
	still                 bool
	gate, work, lunch     int64
	shops                 [3]int64
	restaurant            int64
	bus                   int64 // bus line (1…), 0 when not commuting by bus
	station               int64 // 0 when not commuting by metro
	leave, arrive, finish int32 // seconds after midnight
}

// residentsPerCell is the size of a neighbourhood.
const residentsPerCell = 500

// NewMovement lays out the region.
func NewMovement(o MovementOptions) *Movement {
	if o.Days <= 0 {
		o.Days = 14
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2026, 2, 1, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	}
	m := &Movement{Options: o, Places: tracing.KindMap{}, days: 2*o.Days + 7}
	var nextID int64
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	var cells int
	if o.People != nil {
		m.Residents = len(o.People)
		cells = max(1, o.Neighbourhoods)
		for m.side*m.side < cells {
			m.side++
		}
		if o.CheckIns == 0 {
			m.days = o.Days
		}
	} else {
		m.Residents = max(20, int(float64(o.CheckIns)/(float64(o.Days)*PerResidentDay)+0.5))
		m.side = 1
		for m.side*m.side*residentsPerCell < m.Residents {
			m.side++
		}
		cells = m.side * m.side
	}
	side := m.side
	add := func(k tracing.Kind, site PlaceSite) int64 {
		nextID++
		m.Places[nextID] = k
		site.ID, site.Kind = nextID, k
		m.where = append(m.where, site)
		return nextID
	}
	many := func(k tracing.Kind, n int, site func(i int) PlaceSite) []int64 {
		ids := make([]int64, max(1, n))
		for i := range ids {
			ids[i] = add(k, site(i))
		}
		return ids
	}
	type cell struct{ gates, shops, restaurants, offices, schools, stations []int64 }
	grid := make([]cell, cells)
	perCell := float64(m.Residents) / float64(cells)
	for i := range grid {
		c := &grid[i]
		in := func(int) PlaceSite { return PlaceSite{Neighbourhood: i} }
		c.gates = many(tracing.CompoundEntrance, int(perCell/250), in)
		c.shops = many(tracing.Shop, int(perCell/40), in)
		c.restaurants = many(tracing.Restaurant, int(perCell/80), in)
		c.offices = many(tracing.Office, int(perCell*0.55/35), in)
		if i%2 == 0 {
			c.schools = many(tracing.School, 1, in)
		}
		if i%4 == 0 {
			c.stations = many(tracing.Station, 1, in)
		}
	}
	nHosp := m.Residents / 8000
	m.hosp = many(tracing.Hospital, nHosp, func(i int) PlaceSite { return PlaceSite{Neighbourhood: i * cells / max(1, nHosp)} })
	// Bus lines of BusesPerLine buses each; a bus is a place (its poster is
	// on board).
	lines := m.Residents/4000 + 1
	m.buses = many(tracing.Bus, BusesPerLine*lines, func(i int) PlaceSite {
		return PlaceSite{Neighbourhood: -1, Service: i / BusesPerLine, Bus: i % BusesPerLine}
	})
	// near picks a place from a cell at most radius cells from home, or
	// from the first cell after home that has one.
	near := func(home, radius int, pick func(*cell) []int64) int64 {
		hx, hy := home%side, home/side
		for range 8 {
			x := min(side-1, max(0, hx+rng.IntN(2*radius+1)-radius))
			y := min(side-1, max(0, hy+rng.IntN(2*radius+1)-radius))
			if y*side+x >= cells {
				continue // past the last row's end
			}
			if ids := pick(&grid[y*side+x]); len(ids) > 0 {
				return ids[rng.IntN(len(ids))]
			}
		}
		for i := range grid {
			if ids := pick(&grid[(home+i)%cells]); len(ids) > 0 {
				return ids[0]
			}
		}
		panic("tracing: movement: no place of a kind every region has")
	}
	gates := func(c *cell) []int64 { return c.gates }
	shops := func(c *cell) []int64 { return c.shops }
	restaurants := func(c *cell) []int64 { return c.restaurants }
	offices := func(c *cell) []int64 { return c.offices }
	schools := func(c *cell) []int64 { return c.schools }
	stations := func(c *cell) []int64 { return c.stations }
	m.people = make([]person, m.Residents)
	for i := range m.people {
		p := &m.people[i]
		var home int
		if o.People != nil {
			who := o.People[i]
			p.id, p.still = who.ID, who.Still
			home = min(cells-1, max(0, who.Home))
		} else {
			p.id = int64(i + 1)
			home = rng.IntN(cells)
		}
		p.gate = near(home, 0, gates)
		for j := range p.shops {
			p.shops[j] = near(home, 1, shops)
		}
		p.restaurant = near(home, 1, restaurants)
		role := AtHome
		if o.People != nil {
			role = o.People[i].Role
		} else {
			switch r := rng.IntN(100); {
			case r < 55:
				role = Worker
			case r < 70:
				role = Student
			}
		}
		p.role = role
		switch role {
		case Worker:
			p.work = near(home, 3, offices)
			p.lunch = near(home, 3, restaurants)
			p.leave = int32(7*3600 + rng.IntN(5400))
			p.arrive = p.leave + int32(1200+rng.IntN(2400))
			p.finish = int32(17*3600 + rng.IntN(7200))
		case Student:
			p.work = near(home, 2, schools)
			p.leave = int32(7*3600 + rng.IntN(1800))
			p.arrive = p.leave + int32(600+rng.IntN(1200))
			p.finish = int32(16*3600 + rng.IntN(3600))
		}
		if p.role != AtHome {
			switch rng.IntN(10) {
			case 0, 1, 2:
				p.bus = int64(1 + rng.IntN(lines))
			case 3, 4:
				p.station = near(home, 2, stations)
			}
		}
	}
	// Each day's trips: trains, flights and coaches, each service a place.
	m.trips = make([][3][]int64, m.days)
	for d := range m.trips {
		for i, k := range []tracing.Kind{tracing.Train, tracing.Flight, tracing.Coach} {
			m.trips[d][i] = many(k, m.Residents/20000, func(j int) PlaceSite { return PlaceSite{Neighbourhood: -1, Service: j, Day: d} })
		}
	}
	m.extraByDay = map[int][]int{}
	return m
}

// Add adds check-ins — a scripted scene — to the movement: Batches yields
// each in its day, in time order among the movement's own, and leaves out
// those outside the movement's days. Call it before Batches.
func (m *Movement) Add(cs ...tracing.CheckIn) {
	for _, c := range cs {
		if c.TIn < m.Options.Start.Unix() {
			continue
		}
		d := int((c.TIn - m.Options.Start.Unix()) / day)
		m.extraByDay[d] = append(m.extraByDay[d], len(m.extra))
		m.extra = append(m.extra, c)
	}
}

// ResidentID is the id of the i-th resident (from 0).
func (m *Movement) ResidentID(i int) int64 { return m.people[i].id }

// Side is the width of the grid of neighbourhoods.
func (m *Movement) Side() int { return m.side }

// Sites tells where every place is, by id.
func (m *Movement) Sites() []PlaceSite { return m.where }

// Days is how many days the movement may run over: Options.Days, or more
// when it is to make more check-ins than its residents make in those.
func (m *Movement) Days() int { return m.days }

// row is a compact check-in while a day is made (56 bytes: a day of a
// large movement is millions of them, held while they are sorted).
type synthRow struct {
	in, out  int64
	resident int64
	place    int64
	id       [16]byte
	extra    int32 // 1 + the index of a check-in given to Add; 0 for made ones
	carriage uint8
	seatRow  uint8
	seatCol  byte
	source   uint8 // index in synthSources
}

var synthSources = [...]tracing.Source{tracing.Scan, tracing.Passage, tracing.Trip}

func synthSource(s tracing.Source) uint8 { return uint8(slices.Index(synthSources[:], s)) }

// Batches yields the check-ins in batches of size, day after day, each
// day's in the order of their check-in times — the order in which a
// server receives them. It yields Options.CheckIns check-ins, going on
// past Options.Days if the residents made fewer (up to twice as many days
// and a week); or, for real People and no CheckIns, all they make over
// Options.Days. The batches are the caller's to keep.
func (m *Movement) Batches(size int) iter.Seq[[]tracing.CheckIn] {
	return func(yield func([]tracing.CheckIn) bool) {
		src := rand.NewPCG(m.Options.Seed, 0xc4ec)
		rng := rand.New(src)
		left := m.Options.CheckIns
		if left == 0 {
			left = math.MaxInt // real residents' every check-in over the days
		}
		var rows []synthRow
		for d := 0; left > 0 && d < m.days; d++ {
			// A day is made twice over from the same random state, keeping
			// the check-ins before noon, then those after: half the rows to
			// hold and sort at once, and the same check-ins as in one go.
			noon := m.Options.Start.Unix() + int64(d)*day + day/2
			state := *src
			for half := range 2 {
				*src = state
				from, to := int64(math.MinInt64), noon
				if half == 1 {
					from, to = noon, math.MaxInt64
				}
				rows = m.day(rng, d, rows[:0], from, to)
				slices.SortFunc(rows, func(a, b synthRow) int { return cmp.Compare(a.in, b.in) })
				rows = rows[:min(len(rows), left)]
				left -= len(rows)
				m.End = m.Options.Start.Unix() + int64(d+1)*day
				if !m.yieldBatches(rows, size, yield) {
					return
				}
			}
		}
	}
}

// yieldBatches hands rows on in batches of size; false when the consumer
// stopped.
func (m *Movement) yieldBatches(rows []synthRow, size int, yield func([]tracing.CheckIn) bool) bool {
	for start := 0; start < len(rows); start += size {
		chunk := rows[start:min(start+size, len(rows))]
		b := make([]tracing.CheckIn, len(chunk))
		for i, r := range chunk {
			if r.extra > 0 {
				b[i] = m.extra[r.extra-1]
				continue
			}
			b[i] = tracing.CheckIn{ClientID: uuid(r.id), ResidentID: r.resident, PlaceID: r.place, TIn: r.in, TOut: r.out, Source: synthSources[r.source]}
			if r.carriage > 0 {
				b[i].Carriage = strconv.Itoa(int(r.carriage))
			}
			if r.seatRow > 0 {
				b[i].Seat = strconv.Itoa(int(r.seatRow)) + string(r.seatCol)
			}
		}
		if !yield(b) {
			return false
		}
	}
	return true
}

func uuid(b [16]byte) string {
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// day appends to rows day d's check-ins of every resident that begin in
// [from, to).
func (m *Movement) day(rng *rand.Rand, d int, rows []synthRow, from, to int64) []synthRow {
	keep := func(in int64) bool { return in >= from && in < to }
	midnight := m.Options.Start.Unix() + int64(d)*day
	weekend := (int(m.Options.Start.Weekday())+d)%7 == 0 || (int(m.Options.Start.Weekday())+d)%7 == 6
	jitter := func(s int32, spread int) int64 { return midnight + int64(s) + int64(rng.IntN(2*spread+1)-spread) }
	for _, x := range m.extraByDay[d] {
		if keep(m.extra[x].TIn) {
			rows = append(rows, synthRow{in: m.extra[x].TIn, extra: int32(x + 1)})
		}
	}
	for i := range m.people {
		p := &m.people[i]
		if p.still {
			continue
		}
		r := p.id
		add := func(place int64, in, out int64, src tracing.Source) {
			row := synthRow{in: in, out: out, resident: r, place: place, source: synthSource(src)}
			w1, w2 := rng.Uint64(), rng.Uint64()
			for k := range 8 {
				row.id[k], row.id[8+k] = byte(w1>>(8*k)), byte(w2>>(8*k))
			}
			if keep(in) {
				rows = append(rows, row)
			}
		}
		// Checked out by hand half the time; otherwise the kind's dwell.
		out := func(end int64) int64 {
			if rng.IntN(2) == 0 {
				return end
			}
			return 0
		}
		if rng.IntN(1000) < 4 { // a trip: most of the day away
			k := rng.IntN(3)
			svcs := m.trips[d][k]
			dep := midnight + int64(6*3600+rng.IntN(12)*3600)
			row := synthRow{in: dep, out: dep + int64(3600+rng.IntN(4)*3600), resident: r, place: svcs[rng.IntN(len(svcs))], source: synthSource(tracing.Trip)}
			w1, w2 := rng.Uint64(), rng.Uint64()
			for j := range 8 {
				row.id[j], row.id[8+j] = byte(w1>>(8*j)), byte(w2>>(8*j))
			}
			switch k {
			case 0:
				row.carriage, row.seatRow, row.seatCol = uint8(1+rng.IntN(16)), uint8(1+rng.IntN(20)), "ABCDF"[rng.IntN(5)]
			case 1:
				row.seatRow, row.seatCol = uint8(1+rng.IntN(40)), "ABCDEF"[rng.IntN(6)]
			}
			if keep(row.in) {
				rows = append(rows, row)
			}
			continue
		}
		if weekend || p.role == AtHome {
			t := jitter(9*3600, 5400)
			add(p.gate, t, 0, tracing.Passage)
			for range 1 + rng.IntN(2) {
				t += int64(600 + rng.IntN(3600))
				stay := int64(300 + rng.IntN(1500))
				add(p.shops[rng.IntN(len(p.shops))], t, out(t+stay), tracing.Scan)
				t += stay
			}
			if rng.IntN(10) < 3 {
				t = max(t, jitter(12*3600, 3600))
				stay := int64(2400 + rng.IntN(3600))
				add(p.restaurant, t, out(t+stay), tracing.Scan)
				t += stay
			}
			if len(m.hosp) > 0 && rng.IntN(100) < 3 {
				t += 1800
				stay := int64(3600 + rng.IntN(7200))
				add(m.hosp[rng.IntN(len(m.hosp))], t, out(t+stay), tracing.Scan)
				t += stay
			}
			add(p.gate, t+int64(rng.IntN(1800)), 0, tracing.Passage)
			continue
		}
		leave := jitter(p.leave, 600)
		add(p.gate, leave, 0, tracing.Passage)
		ride := func(at int64) {
			switch {
			case p.bus != 0:
				stay := int64(900 + rng.IntN(1800))
				add(m.buses[(p.bus-1)*BusesPerLine+int64(rng.IntN(BusesPerLine))], at, out(at+stay), tracing.Scan)
			case p.station != 0:
				add(p.station, at, out(at+int64(300+rng.IntN(900))), tracing.Scan)
			}
		}
		ride(leave + 300)
		arrive := max(leave+600, jitter(p.arrive, 600))
		finish := jitter(p.finish, 900)
		add(p.work, arrive, out(finish), tracing.Scan)
		if p.role == Worker && rng.IntN(10) < 3 {
			t := jitter(12*3600, 1200)
			add(p.lunch, t, out(t+int64(1200+rng.IntN(1800))), tracing.Scan)
		}
		ride(finish + 120)
		t := finish + 1800
		if rng.IntN(2) == 0 {
			stay := int64(300 + rng.IntN(1500))
			add(p.shops[rng.IntN(len(p.shops))], t, out(t+stay), tracing.Scan)
			t += stay
		}
		if p.role == Worker && rng.IntN(100) < 15 {
			t += 600
			stay := int64(3600 + rng.IntN(2700))
			add(p.restaurant, t, out(t+stay), tracing.Scan)
			t += stay
		}
		add(p.gate, t+int64(rng.IntN(900)), 0, tracing.Passage)
	}
	return rows
}
