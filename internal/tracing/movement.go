package tracing

import (
	"cmp"
	"encoding/hex"
	"iter"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"
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
	// Places holds the kind of every place, trips included.
	Places KindMap
	// End is the time of the last check-in's day end (unix seconds).
	End int64

	people []person
	hosp   []int64
	buses  []int64
	// trips holds each day's train, flight and coach services.
	trips [][3][]int64
	days  int
}

type person struct {
	role                  uint8 // 0 worker, 1 student, 2 at home
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
	m := &Movement{Options: o, Places: KindMap{}, days: 2*o.Days + 7}
	var nextID int64
	m.Residents = max(20, int(float64(o.CheckIns)/(float64(o.Days)*PerResidentDay)+0.5))
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	side := 1
	for side*side*residentsPerCell < m.Residents {
		side++
	}
	cells := side * side
	add := func(k Kind) int64 {
		nextID++
		m.Places[nextID] = k
		return nextID
	}
	many := func(k Kind, n int) []int64 {
		ids := make([]int64, max(1, n))
		for i := range ids {
			ids[i] = add(k)
		}
		return ids
	}
	type cell struct{ gates, shops, restaurants, offices, schools, stations []int64 }
	grid := make([]cell, cells)
	perCell := float64(m.Residents) / float64(cells)
	for i := range grid {
		c := &grid[i]
		c.gates = many(CompoundEntrance, int(perCell/250))
		c.shops = many(Shop, int(perCell/40))
		c.restaurants = many(Restaurant, int(perCell/80))
		c.offices = many(Office, int(perCell*0.55/35))
		if i%2 == 0 {
			c.schools = many(School, 1)
		}
		if i%4 == 0 {
			c.stations = many(Station, 1)
		}
	}
	m.hosp = many(Hospital, m.Residents/8000)
	// Bus lines of ten buses each; a bus is a place (its poster is on board).
	lines := m.Residents/4000 + 1
	m.buses = many(Bus, 10*lines)
	// near picks a place from a cell at most radius cells from home, or
	// from the first cell after home that has one.
	near := func(home, radius int, pick func(*cell) []int64) int64 {
		hx, hy := home%side, home/side
		for range 8 {
			x := min(side-1, max(0, hx+rng.IntN(2*radius+1)-radius))
			y := min(side-1, max(0, hy+rng.IntN(2*radius+1)-radius))
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
		home := rng.IntN(cells)
		p.gate = near(home, 0, gates)
		for j := range p.shops {
			p.shops[j] = near(home, 1, shops)
		}
		p.restaurant = near(home, 1, restaurants)
		switch r := rng.IntN(100); {
		case r < 55:
			p.role = 0
			p.work = near(home, 3, offices)
			p.lunch = near(home, 3, restaurants)
			p.leave = int32(7*3600 + rng.IntN(5400))
			p.arrive = p.leave + int32(1200+rng.IntN(2400))
			p.finish = int32(17*3600 + rng.IntN(7200))
		case r < 70:
			p.role = 1
			p.work = near(home, 2, schools)
			p.leave = int32(7*3600 + rng.IntN(1800))
			p.arrive = p.leave + int32(600+rng.IntN(1200))
			p.finish = int32(16*3600 + rng.IntN(3600))
		default:
			p.role = 2
		}
		if p.role != 2 {
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
		for i, k := range []Kind{Train, Flight, Coach} {
			m.trips[d][i] = many(k, m.Residents/20000)
		}
	}
	return m
}

// row is a compact check-in while a day is made.
type synthRow struct {
	in, out  int64
	resident int64
	place    int64
	id       [16]byte
	carriage uint8
	seatRow  uint8
	seatCol  byte
	source   Source
}

// Batches yields the check-ins in batches of size, day after day, each
// day's in the order of their check-in times — the order in which a
// server receives them. It yields Options.CheckIns check-ins, going on
// past Options.Days if the residents made fewer (up to twice as many days
// and a week). The batches are the caller's to keep.
func (m *Movement) Batches(size int) iter.Seq[[]CheckIn] {
	return func(yield func([]CheckIn) bool) {
		rng := rand.New(rand.NewPCG(m.Options.Seed, 0xc4ec))
		left := m.Options.CheckIns
		var rows []synthRow
		for d := 0; left > 0 && d < m.days; d++ {
			rows = m.day(rng, d, rows[:0])
			slices.SortFunc(rows, func(a, b synthRow) int { return cmp.Compare(a.in, b.in) })
			rows = rows[:min(len(rows), left)]
			left -= len(rows)
			m.End = m.Options.Start.Unix() + int64(d+1)*day
			for start := 0; start < len(rows); start += size {
				chunk := rows[start:min(start+size, len(rows))]
				b := make([]CheckIn, len(chunk))
				for i, r := range chunk {
					b[i] = CheckIn{ClientID: uuid(r.id), ResidentID: r.resident, PlaceID: r.place, TIn: r.in, TOut: r.out, Source: r.source}
					if r.carriage > 0 {
						b[i].Carriage = strconv.Itoa(int(r.carriage))
					}
					if r.seatRow > 0 {
						b[i].Seat = strconv.Itoa(int(r.seatRow)) + string(r.seatCol)
					}
				}
				if !yield(b) {
					return
				}
			}
		}
	}
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

// day appends day d's check-ins of every resident to rows.
func (m *Movement) day(rng *rand.Rand, d int, rows []synthRow) []synthRow {
	midnight := m.Options.Start.Unix() + int64(d)*day
	weekend := (int(m.Options.Start.Weekday())+d)%7 == 0 || (int(m.Options.Start.Weekday())+d)%7 == 6
	jitter := func(s int32, spread int) int64 { return midnight + int64(s) + int64(rng.IntN(2*spread+1)-spread) }
	for i := range m.people {
		p := &m.people[i]
		r := int64(i + 1)
		add := func(place int64, in, out int64, src Source) {
			row := synthRow{in: in, out: out, resident: r, place: place, source: src}
			w1, w2 := rng.Uint64(), rng.Uint64()
			for k := range 8 {
				row.id[k], row.id[8+k] = byte(w1>>(8*k)), byte(w2>>(8*k))
			}
			rows = append(rows, row)
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
			row := synthRow{in: dep, out: dep + int64(3600+rng.IntN(4)*3600), resident: r, place: svcs[rng.IntN(len(svcs))], source: Trip}
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
			rows = append(rows, row)
			continue
		}
		if weekend || p.role == 2 {
			t := jitter(9*3600, 5400)
			add(p.gate, t, 0, Passage)
			for range 1 + rng.IntN(2) {
				t += int64(600 + rng.IntN(3600))
				stay := int64(300 + rng.IntN(1500))
				add(p.shops[rng.IntN(len(p.shops))], t, out(t+stay), Scan)
				t += stay
			}
			if rng.IntN(10) < 3 {
				t = max(t, jitter(12*3600, 3600))
				stay := int64(2400 + rng.IntN(3600))
				add(p.restaurant, t, out(t+stay), Scan)
				t += stay
			}
			if len(m.hosp) > 0 && rng.IntN(100) < 3 {
				t += 1800
				stay := int64(3600 + rng.IntN(7200))
				add(m.hosp[rng.IntN(len(m.hosp))], t, out(t+stay), Scan)
				t += stay
			}
			add(p.gate, t+int64(rng.IntN(1800)), 0, Passage)
			continue
		}
		leave := jitter(p.leave, 600)
		add(p.gate, leave, 0, Passage)
		ride := func(at int64) {
			switch {
			case p.bus != 0:
				stay := int64(900 + rng.IntN(1800))
				add(m.buses[(p.bus-1)*10+int64(rng.IntN(10))], at, out(at+stay), Scan)
			case p.station != 0:
				add(p.station, at, out(at+int64(300+rng.IntN(900))), Scan)
			}
		}
		ride(leave + 300)
		arrive := max(leave+600, jitter(p.arrive, 600))
		finish := jitter(p.finish, 900)
		add(p.work, arrive, out(finish), Scan)
		if p.role == 0 && rng.IntN(10) < 3 {
			t := jitter(12*3600, 1200)
			add(p.lunch, t, out(t+int64(1200+rng.IntN(1800))), Scan)
		}
		ride(finish + 120)
		t := finish + 1800
		if rng.IntN(2) == 0 {
			stay := int64(300 + rng.IntN(1500))
			add(p.shops[rng.IntN(len(p.shops))], t, out(t+stay), Scan)
			t += stay
		}
		if p.role == 0 && rng.IntN(100) < 15 {
			t += 600
			stay := int64(3600 + rng.IntN(2700))
			add(p.restaurant, t, out(t+stay), Scan)
			t += stay
		}
		add(p.gate, t+int64(rng.IntN(900)), 0, Passage)
	}
	return rows
}
