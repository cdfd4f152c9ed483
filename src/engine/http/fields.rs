//! A request's header fields, in order, with their names' case kept: every name and value in one
//! buffer, so a head costs two allocations however many fields it has.

/// Header fields as `(name, value)` byte pairs, in the order they came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    bytes: Vec<u8>,
    /// Where each field's name and value end in `bytes`; a field starts where the one before
    /// it ended.
    ends: Vec<(usize, usize)>,
}

impl Fields {
    /// Room for `fields` fields of `bytes` bytes in all.
    pub fn with_capacity(fields: usize, bytes: usize) -> Self {
        Fields {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(fields),
        }
    }

    pub fn push(&mut self, name: &[u8], value: &[u8]) {
        self.bytes.extend_from_slice(name);
        let name_end = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.ends.push((name_end, self.bytes.len()));
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter {
            fields: self,
            next: 0,
        }
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a [u8], &'a [u8]);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// The fields of a [`Fields`], in order.
pub struct Iter<'a> {
    fields: &'a Fields,
    next: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let &(name_end, value_end) = self.fields.ends.get(self.next)?;
        let start = match self.next {
            0 => 0,
            i => self.fields.ends.get(i - 1).map_or(0, |&(_, end)| end),
        };
        self.next += 1;
        let bytes = &self.fields.bytes;
        Some((
            bytes.get(start..name_end).unwrap_or_default(),
            bytes.get(name_end..value_end).unwrap_or_default(),
        ))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.fields.len() - self.next;
        (left, Some(left))
    }
}

#[cfg(test)]
mod tests {
    use super::Fields;

    #[test]
    fn fields_come_back_in_order_and_whole() {
        let mut fields = Fields::with_capacity(1, 4);
        assert!(fields.is_empty());
        let pairs: [(&[u8], &[u8]); 4] = [
            (b"Host", b"a"),
            (b"X-Empty", b""),
            (b"host", b"second"),
            (b"Content-Length", b"12"),
        ];
        for (name, value) in pairs {
            fields.push(name, value);
        }
        assert_eq!(fields.len(), 4);
        assert_eq!(fields.iter().collect::<Vec<_>>(), pairs);
        assert_eq!((&fields).into_iter().size_hint(), (4, Some(4)));
    }
}
