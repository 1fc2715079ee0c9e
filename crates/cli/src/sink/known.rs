//! Contacts the HubSpot sink knows to exist.
//!
//! A change of a secondary table (`user_cim_details`) may only update an
//! existing contact, so the sink asks HubSpot (`batch/read`) before sending
//! one. Most such changes concern contacts the sink itself wrote a moment or
//! a day before; remembering those saves the read, which on a quiet day was
//! half of all calls. Bounded like the coalescer's position memory: two
//! generations of at most `capacity / 2` keys, the older dropped whole.

use std::collections::HashSet;
use std::sync::Mutex;

pub struct KnownContacts {
    generation: usize,
    sets: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    current: HashSet<String>,
    previous: HashSet<String>,
}

impl KnownContacts {
    pub fn new(capacity: usize) -> Self {
        Self {
            generation: capacity / 2,
            sets: Mutex::new(Generations::default()),
        }
    }

    pub fn contains(&self, key: &str) -> bool {
        let sets = self.sets.lock().expect("not poisoned");
        sets.current.contains(key) || sets.previous.contains(key)
    }

    /// Remembers that these contacts exist now.
    pub fn insert<'a>(&self, keys: impl IntoIterator<Item = &'a str>) {
        if self.generation == 0 {
            return;
        }
        let mut sets = self.sets.lock().expect("not poisoned");
        for key in keys {
            if sets.current.contains(key) {
                continue;
            }
            if sets.current.len() >= self.generation {
                sets.previous = std::mem::take(&mut sets.current);
            }
            sets.current.insert(key.to_string());
        }
    }

    /// Forgets contacts that were archived (or may have been).
    pub fn remove<'a>(&self, keys: impl IntoIterator<Item = &'a str>) {
        let mut sets = self.sets.lock().expect("not poisoned");
        for key in keys {
            sets.current.remove(key);
            sets.previous.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_forgets_and_stays_bounded() {
        let known = KnownContacts::new(4);
        known.insert(["1", "2"]);
        assert!(known.contains("1") && known.contains("2"));
        known.remove(["1"]);
        assert!(!known.contains("1"));
        let keys: Vec<String> = (10..20).map(|k| k.to_string()).collect();
        known.insert(keys.iter().map(String::as_str));
        assert!(known.contains("19") && known.contains("18"));
        assert!(!known.contains("10"), "the oldest are forgotten");
        let n = {
            let s = known.sets.lock().unwrap();
            s.current.len() + s.previous.len()
        };
        assert!(n <= 4, "{n}");
        let off = KnownContacts::new(0);
        off.insert(["1"]);
        assert!(!off.contains("1"));
    }
}
