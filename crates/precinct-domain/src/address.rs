//! Finding a place by what a caller says: the station's own places first,
//! then a street and house number ("美食七街7号", "12 Boulevard des
//! Moulins"), intersections ("A路与B路交叉口", "A / B"), and the named
//! places (points of interest) and streets of its road network's extract,
//! matched loosely (any part of a name, pinyin initials such as "msqj" for
//! 美食七街, one typo in a longer name), nearest to the ground first. And
//! the reverse: the place, house, point of interest or street at a point.

use crate::Coordinates;
use crate::ground::{Jurisdiction, Place};
use crate::ids::PlaceId;
use pinyin::ToPinyin;
use precinct_geo::roads::{PointAddress, RoadWay};
use std::collections::{BTreeMap, HashMap, HashSet};

/// What a search or a reverse lookup found.
#[derive(Debug, Clone, PartialEq)]
pub struct AddressHit {
    pub kind: AddressKind,
    /// The place's or street's name, or "A与B交叉口".
    pub name: String,
    /// What intake takes as the address.
    pub address: String,
    pub location: Coordinates,
    pub place_id: Option<PlaceId>,
    /// From the point asked about (reverse), or from the ground (search).
    pub distance_m: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressKind {
    Place,
    /// A street and house number (`addr:street` + `addr:housenumber`).
    House,
    Intersection,
    /// A named place of the extract: a shop, school, hospital, park...
    Poi,
    Street,
}

impl AddressKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AddressKind::Place => "place",
            AddressKind::House => "house",
            AddressKind::Intersection => "intersection",
            AddressKind::Poi => "poi",
            AddressKind::Street => "street",
        }
    }
}

/// How a street and house number are written: Chinese order for a Chinese
/// street name ("美食七街7号"), number first otherwise ("12 Boulevard des
/// Moulins").
pub fn house_address(street: &str, number: &str) -> String {
    let number = number.trim();
    if street.chars().any(is_cjk) {
        let number = number.trim_end_matches(['号', '號']);
        format!("{street}{number}号")
    } else {
        format!("{number} {street}")
    }
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// A house number as compared: lower case, no spaces, no 号.
fn number_key(number: &str) -> String {
    normalise(number.trim().trim_end_matches(['号', '號']))
}

/// The (street, house number) readings of a query that ends or starts
/// with a number ("美食七街7号", "Mannerheimintie 5 B", "12 Boulevard des
/// Moulins", "12, Rue Grimaldi"), most likely first.
fn house_parts(query: &str) -> Vec<(String, String)> {
    let text = query.trim().trim_end_matches(['号', '號']).trim();
    let is_number = |w: &str| {
        w.chars().next().is_some_and(|c| c.is_ascii_digit())
            && w.chars().count() <= 8
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '/')
    };
    let is_letter = |w: &str| w.chars().count() == 1 && w.chars().all(|c| c.is_ascii_alphabetic());
    let street_ok = |s: &str| s.chars().count() >= 2;
    let mut out = Vec::new();
    // Glued to a Chinese street name: "美食七街7号".
    if let Some((i, _)) = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '-' || *c == '/')
        .last()
        && i > 0
    {
        let (street, number) = text.split_at(i);
        if street.chars().last().is_some_and(is_cjk) && is_number(number) && street_ok(street) {
            out.push((street.to_owned(), number.to_owned()));
        }
    }
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',' || c == '，')
        .filter(|w| !w.is_empty())
        .collect();
    let join = |w: &[&str]| w.join(" ");
    let n = words.len();
    if n >= 2 {
        // Trailing: "Mannerheimintie 5", "Mannerheimintie 5 B".
        if is_number(words[n - 1]) {
            out.push((join(&words[..n - 1]), words[n - 1].to_owned()));
        } else if n >= 3 && is_letter(words[n - 1]) && is_number(words[n - 2]) {
            out.push((join(&words[..n - 2]), join(&words[n - 2..])));
        }
        // Leading: "12 Boulevard des Moulins", "5 B Mannerheimintie".
        if is_number(words[0]) {
            if n >= 3 && is_letter(words[1]) {
                out.push((join(&words[2..]), join(&words[..2])));
            }
            out.push((join(&words[1..]), words[0].to_owned()));
        }
    }
    out.retain(|(street, _)| street_ok(street));
    out
}

/// A named street (the pieces of road that carry its name, and its house
/// numbers), or a named place of the extract (no lines; at `middle`).
#[derive(Debug, Clone)]
struct Street {
    name: String,
    key: String,
    /// `key`'s characters, for the typo check without allocating.
    chars: Vec<char>,
    initials: String,
    lines: Vec<Vec<(i64, Coordinates)>>,
    /// A point on the street near its middle; a place's own point.
    middle: Coordinates,
    /// A point of interest rather than a street.
    poi: bool,
    /// A street's houses: (number as compared, as written, where); a
    /// place's own address, if the extract gives it one.
    houses: Vec<(String, String, Coordinates)>,
}

/// A house (an entry and its house's index) or a named place (an entry).
type Spot = (u32, Option<u32>);

/// Grid cells of about 100 m for finding houses and places near a point.
fn spot_cell(at: Coordinates) -> (i32, i32) {
    (
        (at.lat() * 1000.0).floor() as i32,
        (at.lon() * 1000.0).floor() as i32,
    )
}

/// The road network's named streets, built once from its ways, with an
/// index of their names' character pairs so a search reads only the names
/// that can match rather than every name of a city.
#[derive(Debug, Clone, Default)]
pub struct StreetIndex {
    streets: Vec<Street>,
    /// Where each junction node is and which streets meet there.
    nodes: HashMap<i64, (Coordinates, Vec<usize>)>,
    /// Each pair of neighbouring characters of a name's key, and the
    /// streets whose keys hold it (ascending).
    pairs: HashMap<(char, char), Vec<u32>>,
    /// The same over the names' pinyin initials.
    initial_pairs: HashMap<(char, char), Vec<u32>>,
    /// Houses and places by grid cell: (entry, house index or none).
    spots: HashMap<(i32, i32), Vec<Spot>>,
}

/// The distinct neighbouring pairs of a string's characters.
fn char_pairs(chars: &[char]) -> Vec<(char, char)> {
    let mut pairs: Vec<(char, char)> = chars.windows(2).map(|w| (w[0], w[1])).collect();
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// A name as compared: lower case, half-width, without spaces or punctuation.
pub fn normalise(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            // Full-width ASCII forms to their half-width letters.
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// The first letters of a name's pinyin ("美食七街" → "msqj"); other
/// letters and digits kept as they are.
pub fn initials(text: &str) -> String {
    text.to_pinyin()
        .zip(text.chars())
        .filter_map(|(p, c)| match p {
            Some(p) => p.plain().chars().next(),
            None => c.is_alphanumeric().then(|| c.to_ascii_lowercase()),
        })
        .collect()
}

/// Whether `a` and `b` differ by at most one typo: a letter inserted,
/// deleted, changed, or two neighbours swapped.
fn one_edit(a: &[char], b: &[char]) -> bool {
    if a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    if a.len() == b.len() {
        let differ: Vec<usize> = (0..a.len()).filter(|&k| a[k] != b[k]).collect();
        if let [i, j] = differ[..]
            && j == i + 1
            && a[i] == b[j]
            && a[j] == b[i]
        {
            return true;
        }
    }
    let (mut i, mut j, mut edits) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            i += 1;
            j += 1;
            continue;
        }
        edits += 1;
        if edits > 1 {
            return false;
        }
        match a.len().cmp(&b.len()) {
            std::cmp::Ordering::Greater => i += 1,
            std::cmp::Ordering::Less => j += 1,
            std::cmp::Ordering::Equal => {
                i += 1;
                j += 1;
            }
        }
    }
    edits + (a.len() - i) + (b.len() - j) <= 1
}

/// How well a name matches a normalised query: lower is better; None when
/// it does not match.
fn score(key: &str, initials: &str, query: &str) -> Option<u8> {
    let (k, q): (Vec<char>, Vec<char>) = (key.chars().collect(), query.chars().collect());
    score_chars(key, &k, initials, query, &q)
}

/// [`score`] with the characters already split.
fn score_chars(key: &str, k: &[char], initials: &str, query: &str, q: &[char]) -> Option<u8> {
    if query.is_empty() {
        return None;
    }
    if key == query {
        Some(0)
    } else if key.starts_with(query) {
        Some(1)
    } else if key.contains(query) {
        Some(2)
    } else if query.is_ascii() && initials.contains(query) {
        Some(3)
    } else {
        // One typo in a query of five characters or more, against the
        // whole name or its beginning.
        (q.len() >= 5 && (one_edit(k, q) || (k.len() > q.len() && one_edit(&k[..q.len()], q))))
            .then_some(4)
    }
}

/// The point of a line nearest `at`, and how far it is (metres).
fn nearest_on_line(line: &[(i64, Coordinates)], at: Coordinates) -> (Coordinates, f64) {
    let mut best = (line[0].1, line[0].1.distance_m(at));
    for pair in line.windows(2) {
        let (a, b) = (pair[0].1, pair[1].1);
        // Project in a local metric frame around `a`.
        let (bx, by) = offset(a, b);
        let (px, py) = offset(a, at);
        let length = bx * bx + by * by;
        let t = if length > 0.0 {
            ((px * bx + py * by) / length).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let foot = a.offset_m(bx * t, by * t);
        let d = foot.distance_m(at);
        if d < best.1 {
            best = (foot, d);
        }
    }
    best
}

/// `to` as metres east and north of `from`.
fn offset(from: Coordinates, to: Coordinates) -> (f64, f64) {
    let east = Coordinates::new(from.lat(), to.lon()).map_or(0.0, |p| from.distance_m(p));
    let north = Coordinates::new(to.lat(), from.lon()).map_or(0.0, |p| from.distance_m(p));
    (
        if to.lon() >= from.lon() { east } else { -east },
        if to.lat() >= from.lat() {
            north
        } else {
            -north
        },
    )
}

impl StreetIndex {
    /// The named ways, grouped by name, their house numbers, and the named
    /// places of the extract.
    pub fn build(ways: &[RoadWay], addresses: &[PointAddress]) -> StreetIndex {
        // A street is found by its shown name and by its local one (a
        // foreign city's "Yonge Street" beside its Chinese name).
        let mut by_name: BTreeMap<&str, Vec<&RoadWay>> = BTreeMap::new();
        for way in ways {
            for name in [&way.name, &way.local_name] {
                if let Some(name) = name.as_deref().filter(|n| !n.trim().is_empty()) {
                    by_name.entry(name.trim()).or_default().push(way);
                }
            }
        }
        let mut index = StreetIndex::default();
        let entry = |name: &str, lines, middle, poi| {
            let key = normalise(name);
            Street {
                name: name.to_owned(),
                chars: key.chars().collect(),
                key,
                initials: initials(name),
                lines,
                middle,
                poi,
                houses: Vec::new(),
            }
        };
        for (name, ways) in by_name {
            let lines: Vec<Vec<(i64, Coordinates)>> =
                ways.iter().map(|w| w.nodes.clone()).collect();
            let points: Vec<Coordinates> = lines.iter().flatten().map(|(_, c)| *c).collect();
            let (lat, lon) = points
                .iter()
                .fold((0.0, 0.0), |(a, b), p| (a + p.lat(), b + p.lon()));
            let n = points.len().max(1) as f64;
            let centre = Coordinates::new(lat / n, lon / n).unwrap_or(points[0]);
            let middle = lines
                .iter()
                .map(|l| nearest_on_line(l, centre))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map_or(centre, |(p, _)| p);
            let number = index.streets.len();
            for (id, at) in lines.iter().flatten() {
                let entry = index.nodes.entry(*id).or_insert((*at, Vec::new()));
                if !entry.1.contains(&number) {
                    entry.1.push(number);
                }
            }
            index.streets.push(entry(name, lines, middle, false));
        }
        // House numbers on their streets (a street the roads do not name
        // becomes one of its houses alone); named places as entries of
        // their own.
        let mut by_key: HashMap<String, usize> = index
            .streets
            .iter()
            .enumerate()
            .map(|(k, s)| (s.key.clone(), k))
            .collect();
        for a in addresses {
            let house = a
                .street
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .zip(
                    a.housenumber
                        .as_deref()
                        .map(str::trim)
                        .filter(|n| !n.is_empty()),
                );
            if let Some((street, number)) = house {
                let k = *by_key.entry(normalise(street)).or_insert_with(|| {
                    index
                        .streets
                        .push(entry(street, Vec::new(), a.location, false));
                    index.streets.len() - 1
                });
                index.streets[k]
                    .houses
                    .push((number_key(number), number.to_owned(), a.location));
            }
            if let Some(name) = a.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
                let mut place = entry(name, Vec::new(), a.location, true);
                if let Some((street, number)) = house {
                    place.houses.push((
                        number_key(number),
                        house_address(street, number),
                        a.location,
                    ));
                }
                index.streets.push(place);
            }
        }
        for (k, street) in index.streets.iter_mut().enumerate() {
            street.houses.sort_by(|a, b| a.0.cmp(&b.0));
            let cells: Vec<_> = if street.poi {
                vec![(spot_cell(street.middle), (k as u32, None))]
            } else {
                street
                    .houses
                    .iter()
                    .enumerate()
                    .map(|(h, (_, _, at))| (spot_cell(*at), (k as u32, Some(h as u32))))
                    .collect()
            };
            for (cell, spot) in cells {
                index.spots.entry(cell).or_default().push(spot);
            }
        }
        for (k, street) in index.streets.iter().enumerate() {
            for pair in char_pairs(&street.chars) {
                index.pairs.entry(pair).or_default().push(k as u32);
            }
            let initials: Vec<char> = street.initials.chars().collect();
            for pair in char_pairs(&initials) {
                index.initial_pairs.entry(pair).or_default().push(k as u32);
            }
        }
        // Only junctions of two or more named streets are kept.
        index.nodes.retain(|_, (_, streets)| streets.len() >= 2);
        index
    }

    /// The house or named place nearest `at`, within `within_m`.
    fn nearest_spot(&self, at: Coordinates, within_m: f64) -> Option<AddressHit> {
        let (y, x) = spot_cell(at);
        let mut best: Option<(f64, u32, Option<u32>)> = None;
        for dy in -1..=1 {
            for dx in -1..=1 {
                for &(k, house) in self.spots.get(&(y + dy, x + dx)).into_iter().flatten() {
                    let s = &self.streets[k as usize];
                    let point = match house {
                        Some(h) => s.houses[h as usize].2,
                        None => s.middle,
                    };
                    let d = point.distance_m(at);
                    if d <= within_m && best.is_none_or(|b| d < b.0) {
                        best = Some((d, k, house));
                    }
                }
            }
        }
        let (d, k, house) = best?;
        let s = &self.streets[k as usize];
        Some(match house {
            Some(h) => {
                let (_, written, point) = &s.houses[h as usize];
                let address = house_address(&s.name, written);
                AddressHit {
                    kind: AddressKind::House,
                    name: address.clone(),
                    address,
                    location: *point,
                    place_id: None,
                    distance_m: d,
                }
            }
            None => AddressHit {
                distance_m: d,
                ..self.hit(k as usize, at)
            },
        })
    }

    pub fn len(&self) -> usize {
        self.streets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.streets.is_empty()
    }

    /// The streets that may match `q` (normalised): those whose keys hold
    /// every character pair of it, those that hold all but three (one typo
    /// breaks at most three: two neighbours swapped) when it is long enough
    /// for a typo to count, and those whose initials hold every pair. Every street when
    /// `q` has no pair (one character).
    fn candidates(&self, q: &[char]) -> Vec<usize> {
        let wanted = char_pairs(q);
        if wanted.is_empty() {
            // One character names too many streets of a city to list.
            return Vec::new();
        }
        let need = if q.len() >= 5 {
            wanted.len().saturating_sub(3).max(1)
        } else {
            wanted.len()
        };
        // A street missing at most `slack` of the pairs holds one of any
        // `slack + 1` of them: the rarest are read whole, and each street
        // they name is checked against the others (binary searches), so a
        // pair most names share ("大道", "路") is never read whole when a
        // rarer one will do. Pairs in more than a twentieth of the names
        // are not read at all unless nothing rarer is left.
        let mut lists: Vec<&[u32]> = wanted
            .iter()
            .map(|p| self.pairs.get(p).map_or(&[][..], Vec::as_slice))
            .collect();
        lists.sort_by_key(|l| l.len());
        let slack = wanted.len() - need;
        let common = (self.streets.len() / 20).max(1000);
        let mut seeds: Vec<&[u32]> = lists
            .iter()
            .take(slack + 1)
            .copied()
            .filter(|l| l.len() <= common)
            .collect();
        if seeds.is_empty() {
            seeds.push(lists[0]);
        }
        let mut found: HashSet<usize> = HashSet::new();
        for &k in seeds.iter().flat_map(|l| l.iter()) {
            if found.contains(&(k as usize)) {
                continue;
            }
            let held = lists.iter().filter(|l| l.binary_search(&k).is_ok()).count();
            if held >= need {
                found.insert(k as usize);
            }
        }
        if q.iter().all(char::is_ascii) {
            let mut lists = wanted
                .iter()
                .map(|p| self.initial_pairs.get(p).map_or(&[][..], Vec::as_slice));
            if let Some(first) = lists.next() {
                let mut common: Vec<u32> = first.to_vec();
                for list in lists {
                    common.retain(|k| list.binary_search(k).is_ok());
                }
                found.extend(common.into_iter().map(|k| k as usize));
            }
        }
        found.into_iter().collect()
    }

    /// The streets matching a query, best first: (score, street).
    fn matching(&self, query: &str) -> Vec<(u8, usize)> {
        let q = normalise(query);
        let qc: Vec<char> = q.chars().collect();
        let mut found: Vec<(u8, usize)> = self
            .candidates(&qc)
            .into_iter()
            .filter_map(|k| {
                let s = &self.streets[k];
                score_chars(&s.key, &s.chars, &s.initials, &q, &qc).map(|sc| (sc, k))
            })
            .collect();
        found.sort();
        found
    }

    /// The house `number` on the streets best matching `street`.
    fn houses(&self, street: &str, number: &str, near: Coordinates) -> Vec<(u8, AddressHit)> {
        let wanted = number_key(number);
        let mut hits = Vec::new();
        for &(score, k) in self.matching(street).iter().take(5) {
            let s = &self.streets[k];
            if s.poi {
                continue;
            }
            let from = s.houses.partition_point(|h| h.0 < wanted);
            for (_, written, at) in s.houses[from..].iter().take_while(|h| h.0 == wanted) {
                let address = house_address(&s.name, written);
                hits.push((
                    score,
                    AddressHit {
                        kind: AddressKind::House,
                        name: address.clone(),
                        address,
                        location: *at,
                        place_id: None,
                        distance_m: at.distance_m(near),
                    },
                ));
            }
        }
        hits
    }

    /// An entry as a hit: a street at its middle, a place at its point.
    fn hit(&self, k: usize, near: Coordinates) -> AddressHit {
        let s = &self.streets[k];
        AddressHit {
            kind: if s.poi {
                AddressKind::Poi
            } else {
                AddressKind::Street
            },
            name: s.name.clone(),
            address: match (s.poi, s.houses.first()) {
                (true, Some((_, address, _))) => format!("{address} {}", s.name),
                _ => s.name.clone(),
            },
            location: s.middle,
            place_id: None,
            distance_m: s.middle.distance_m(near),
        }
    }

    /// Where two streets matching `a` and `b` meet, the pair of best matches first.
    fn intersections(&self, a: &str, b: &str, near: Coordinates) -> Vec<AddressHit> {
        let (first, second) = (self.matching(a), self.matching(b));
        let mut hits = Vec::new();
        let mut seen = HashSet::new();
        let streets = |m: Vec<(u8, usize)>| -> Vec<usize> {
            m.into_iter()
                .map(|(_, k)| k)
                .filter(|&k| !self.streets[k].poi && !self.streets[k].lines.is_empty())
                .take(5)
                .collect()
        };
        let (first, second) = (streets(first), streets(second));
        for &x in &first {
            for &y in &second {
                if x == y || !seen.insert((x.min(y), x.max(y))) {
                    continue;
                }
                // The junctions on street x that street y also passes.
                let meeting = self.streets[x]
                    .lines
                    .iter()
                    .flatten()
                    .filter_map(|(id, _)| self.nodes.get(id))
                    .filter(|(_, streets)| streets.contains(&y))
                    .map(|(at, _)| *at)
                    .min_by(|p, q| p.distance_m(near).total_cmp(&q.distance_m(near)));
                if let Some(at) = meeting {
                    let name = format!("{}与{}交叉口", self.streets[x].name, self.streets[y].name);
                    hits.push(AddressHit {
                        kind: AddressKind::Intersection,
                        address: name.clone(),
                        name,
                        location: at,
                        place_id: None,
                        distance_m: at.distance_m(near),
                    });
                }
            }
        }
        hits
    }
}

/// The two streets of an intersection query, if it names two (each of two
/// characters or more).
fn intersection_parts(query: &str) -> Option<(String, String)> {
    let mut text = query.trim().to_owned();
    for tail in ["交叉路口", "交叉口", "交汇处", "路口"] {
        if let Some(stripped) = text.strip_suffix(tail) {
            text = stripped.to_owned();
        }
    }
    for separator in ["与", "和", "/", "&", "＆", "／", " x ", " X ", "、"] {
        if let Some((a, b)) = text.split_once(separator) {
            let (a, b) = (a.trim(), b.trim());
            if a.chars().count() >= 2 && b.chars().count() >= 2 {
                return Some((a.to_owned(), b.to_owned()));
            }
        }
    }
    None
}

fn place_hit(place: &Place, near: Coordinates) -> AddressHit {
    AddressHit {
        kind: AddressKind::Place,
        name: place.name.clone(),
        address: place.address.clone(),
        location: place.location,
        place_id: Some(place.id),
        distance_m: place.location.distance_m(near),
    }
}

/// Searches the ground's places and the streets for what a caller said:
/// places first, then intersections, then streets; each by how well it
/// matches, then by distance from `near` (the ground's middle).
pub fn search(
    ground: &Jurisdiction,
    streets: &StreetIndex,
    query: &str,
    near: Coordinates,
    limit: usize,
) -> Vec<AddressHit> {
    let q = normalise(query);
    if q.is_empty() || limit == 0 {
        return Vec::new();
    }
    let terms: Vec<String> = query.split_whitespace().map(normalise).collect();
    let mut places: Vec<(u8, AddressHit)> = ground
        .places
        .iter()
        .filter_map(|p| {
            let names = std::iter::once(&p.name)
                .chain(p.aliases.iter())
                .chain(std::iter::once(&p.address));
            let best = names
                .filter_map(|n| {
                    let key = normalise(n);
                    // Every term somewhere in the name, or the whole query matched loosely.
                    if terms.len() > 1 && terms.iter().all(|t| key.contains(t.as_str())) {
                        Some(2)
                    } else {
                        score(&key, &initials(n), &q)
                    }
                })
                .min()?;
            Some((best, place_hit(p, near)))
        })
        .collect();
    places.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.distance_m.total_cmp(&b.1.distance_m))
    });
    let mut hits: Vec<AddressHit> = places.into_iter().map(|(_, h)| h).collect();
    let readings = house_parts(query);
    let mut housed = false;
    for (street, number) in &readings {
        let mut houses = streets.houses(street, number, near);
        if !houses.is_empty() {
            houses.sort_by(|a, b| {
                a.0.cmp(&b.0)
                    .then(a.1.distance_m.total_cmp(&b.1.distance_m))
            });
            hits.extend(houses.into_iter().map(|(_, h)| h));
            housed = true;
            break;
        }
    }
    if let Some((a, b)) = intersection_parts(query) {
        hits.extend(streets.intersections(&a, &b, near));
    }
    // A number the street lacks: the street itself.
    let mut matched = streets.matching(query);
    if let (false, Some((street, _))) = (housed, readings.first()) {
        matched.extend(streets.matching(street));
        matched.sort();
        let mut seen = HashSet::new();
        matched.retain(|(_, k)| seen.insert(*k));
    }
    let mut found: Vec<(u8, AddressHit)> = matched
        .into_iter()
        .map(|(sc, k)| (sc, streets.hit(k, near)))
        .collect();
    // As well matched: a street before a place named after it.
    found.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then((a.1.kind == AddressKind::Poi).cmp(&(b.1.kind == AddressKind::Poi)))
            .then(a.1.distance_m.total_cmp(&b.1.distance_m))
    });
    hits.extend(found.into_iter().map(|(_, h)| h));
    hits.truncate(limit);
    hits
}

/// The address of a point: a place of the ground within 60 m, else the
/// nearest house or named place of the extract within 40 m, else the
/// nearest named street within 200 m ("X路附近"); None further away.
pub fn reverse(
    ground: &Jurisdiction,
    streets: &StreetIndex,
    at: Coordinates,
) -> Option<AddressHit> {
    const PLACE_M: f64 = 60.0;
    const HOUSE_M: f64 = 40.0;
    const STREET_M: f64 = 200.0;
    let place = ground
        .places
        .iter()
        .map(|p| (p, p.location.distance_m(at)))
        .filter(|(_, d)| *d <= PLACE_M)
        .min_by(|a, b| a.1.total_cmp(&b.1));
    if let Some((p, d)) = place {
        return Some(AddressHit {
            distance_m: d,
            ..place_hit(p, at)
        });
    }
    if let Some(hit) = streets.nearest_spot(at, HOUSE_M) {
        return Some(hit);
    }
    let (street, (foot, d)) = streets
        .streets
        .iter()
        .filter_map(|s| {
            s.lines
                .iter()
                .filter(|l| !l.is_empty())
                .map(|l| nearest_on_line(l, at))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map(|best| (s, best))
        })
        .min_by(|a, b| a.1.1.total_cmp(&b.1.1))?;
    (d <= STREET_M).then(|| AddressHit {
        kind: AddressKind::Street,
        name: street.name.clone(),
        address: format!("{}附近", street.name),
        location: foot,
        place_id: None,
        distance_m: d,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use precinct_geo::roads::{Access, Oneway, RoadClass};

    fn origin() -> Coordinates {
        Coordinates::new(28.2, 113.0).unwrap()
    }

    fn way(name: &str, ids: [i64; 3], points: [(f64, f64); 3]) -> RoadWay {
        RoadWay {
            nodes: ids
                .iter()
                .zip(points)
                .map(|(&id, (e, n))| (id, origin().offset_m(e, n)))
                .collect(),
            class: RoadClass::Residential,
            oneway: Oneway::No,
            access: Access::ALL,
            name: Some(name.to_owned()),
            local_name: None,
        }
    }

    fn streets() -> StreetIndex {
        StreetIndex::build(
            &[
                way(
                    "美食七街",
                    [1, 2, 3],
                    [(0.0, 0.0), (100.0, 0.0), (200.0, 0.0)],
                ),
                way(
                    "远大路",
                    [4, 2, 5],
                    [(100.0, -100.0), (100.0, 0.0), (100.0, 100.0)],
                ),
                way(
                    "Mannerheimintie",
                    [6, 7, 8],
                    [(0.0, 500.0), (100.0, 500.0), (200.0, 500.0)],
                ),
            ],
            &houses(),
        )
    }

    fn houses() -> Vec<PointAddress> {
        let at = |e: f64, n: f64| origin().offset_m(e, n);
        vec![
            PointAddress {
                location: at(30.0, 15.0),
                street: Some("美食七街".into()),
                housenumber: Some("7".into()),
                name: None,
            },
            PointAddress {
                location: at(60.0, 15.0),
                street: Some("美食七街".into()),
                housenumber: Some("9号".into()),
                name: Some("新华书店".into()),
            },
            PointAddress {
                location: at(50.0, 515.0),
                street: Some("Mannerheimintie".into()),
                housenumber: Some("5 B".into()),
                name: None,
            },
            PointAddress {
                location: at(150.0, 480.0),
                street: None,
                housenumber: None,
                name: Some("Stockmann".into()),
            },
        ]
    }

    #[test]
    fn streets_are_found_by_part_initials_and_one_typo() {
        let ground = Jurisdiction::default();
        let s = streets();
        let names = |q: &str| -> Vec<String> {
            search(&ground, &s, q, origin(), 5)
                .into_iter()
                .map(|h| h.name)
                .collect()
        };
        assert_eq!(names("美食七街"), ["美食七街"]);
        assert_eq!(names("七街"), ["美食七街"]);
        assert_eq!(names("msqj"), ["美食七街"]);
        assert_eq!(names("Mannerheimintie"), ["Mannerheimintie"]);
        assert_eq!(names("mannerheimintie"), ["Mannerheimintie"]);
        assert_eq!(names("Manerheimintie"), ["Mannerheimintie"], "one typo");
        assert_eq!(names("Mannerheim"), ["Mannerheimintie"], "a part");
        assert!(names("Helsinginkatu").is_empty());
    }

    #[test]
    fn intersections_are_where_two_streets_meet() {
        let ground = Jurisdiction::default();
        let s = streets();
        for q in [
            "美食七街与远大路交叉口",
            "远大路/美食七街",
            "美食七街和远大路",
        ] {
            let hits = search(&ground, &s, q, origin(), 5);
            let crossing = hits
                .iter()
                .find(|h| h.kind == AddressKind::Intersection)
                .unwrap_or_else(|| panic!("{q}: {hits:?}"));
            assert!(
                crossing.location.distance_m(origin().offset_m(100.0, 0.0)) < 1.0,
                "{q}"
            );
        }
    }

    #[test]
    fn a_point_is_its_nearest_street() {
        let ground = Jurisdiction::default();
        let s = streets();
        let hit = reverse(&ground, &s, origin().offset_m(180.0, 30.0)).unwrap();
        assert_eq!(
            (hit.kind, hit.address.as_str()),
            (AddressKind::Street, "美食七街附近")
        );
        assert!((hit.distance_m - 30.0).abs() < 1.0, "{}", hit.distance_m);
        assert!(reverse(&ground, &s, origin().offset_m(40.0, -900.0)).is_none());
    }

    #[test]
    fn a_street_is_found_by_its_local_name_beside_its_chinese_one() {
        let mut yonge = way(
            "央街",
            [11, 12, 13],
            [(0.0, 900.0), (100.0, 900.0), (200.0, 900.0)],
        );
        yonge.local_name = Some("Yonge Street".into());
        let s = StreetIndex::build(
            &[yonge],
            &[PointAddress {
                location: origin().offset_m(50.0, 915.0),
                street: Some("Yonge Street".into()),
                housenumber: Some("220".into()),
                name: None,
            }],
        );
        let ground = Jurisdiction::default();
        let first = |q: &str| search(&ground, &s, q, origin(), 3)[0].address.clone();
        assert_eq!(first("央街"), "央街");
        assert_eq!(first("Yonge Street"), "Yonge Street");
        assert_eq!(first("yonge"), "Yonge Street");
        assert_eq!(first("220 Yonge Street"), "220 Yonge Street");
    }

    #[test]
    fn houses_and_named_places() {
        let ground = Jurisdiction::default();
        let s = streets();
        let first = |q: &str| {
            let hit = search(&ground, &s, q, origin(), 5)
                .into_iter()
                .next()
                .unwrap_or_else(|| panic!("{q}: nothing"));
            (hit.kind, hit.address)
        };
        for q in ["美食七街7号", "美食七街 7", "美食七街7"] {
            assert_eq!(first(q), (AddressKind::House, "美食七街7号".into()), "{q}");
        }
        assert_eq!(first("美食七街9号").0, AddressKind::House);
        for q in [
            "Mannerheimintie 5B",
            "5 B Mannerheimintie",
            "mannerheimintie 5b",
        ] {
            assert_eq!(
                first(q),
                (AddressKind::House, "5 B Mannerheimintie".into()),
                "{q}"
            );
        }
        assert_eq!(first("Stockman"), (AddressKind::Poi, "Stockmann".into()));
        assert_eq!(first("书店").0, AddressKind::Poi);
        assert_eq!(
            first("xhsd"),
            (AddressKind::Poi, "美食七街9号 新华书店".into())
        );
        // A number the street lacks: the street itself.
        assert_eq!(first("美食七街99号").0, AddressKind::Street);
        // Reverse: the house or place within 40 m, else the street.
        let hit = reverse(&ground, &s, origin().offset_m(32.0, 12.0)).unwrap();
        assert_eq!(
            (hit.kind, hit.address.as_str()),
            (AddressKind::House, "美食七街7号")
        );
        let hit = reverse(&ground, &s, origin().offset_m(150.0, 470.0)).unwrap();
        assert_eq!(hit.kind, AddressKind::Poi);
        assert!(house_parts("远大路一巷").is_empty());
        assert_eq!(
            house_parts("12, Rue Grimaldi"),
            [("Rue Grimaldi".to_owned(), "12".to_owned())]
        );
    }

    #[test]
    fn normalising_and_initials() {
        assert_eq!(
            normalise("Ａｌｅｋｓａｎｔｅｒｉｎ Katu"),
            "aleksanterinkatu"
        );
        assert_eq!(initials("美食七街7号"), "msqj7h");
        assert!(one_edit(&['a', 'b', 'c'], &['a', 'c']));
        assert!(!one_edit(&['a', 'b', 'c'], &['c', 'b', 'a']));
        assert!(
            one_edit(&['a', 'b', 'c'], &['b', 'a', 'c']),
            "a swap is one typo"
        );
    }
}
