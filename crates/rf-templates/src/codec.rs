//! Minimal bounds-checked binary writer/reader for the bundle payload.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("payload corrupt at byte {at}: {what}")]
pub struct DecodeError {
    pub at: usize,
    pub what: &'static str,
}

#[derive(Default)]
pub struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub fn varint(&mut self, mut v: u64) {
        loop {
            let byte = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(byte);
                return;
            }
            self.buf.push(byte | 0x80);
        }
    }

    pub fn len(&mut self, n: usize) {
        self.varint(n as u64);
    }

    pub fn str(&mut self, s: &str) {
        self.len(s.len());
        self.buf.extend_from_slice(s.as_bytes());
    }
}

pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, pos: 0 }
    }

    fn err(&self, what: &'static str) -> DecodeError {
        DecodeError { at: self.pos, what }
    }

    pub fn at_end(&self) -> bool {
        self.pos == self.data.len()
    }

    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        let v = *self.data.get(self.pos).ok_or_else(|| self.err("unexpected end"))?;
        self.pos += 1;
        Ok(v)
    }

    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("varint too long"))
    }

    /// A count that must fit in what is left of the input (each item takes >= `min_item_bytes`),
    /// so corrupt lengths cannot trigger huge allocations.
    pub fn count(&mut self, min_item_bytes: usize) -> Result<usize, DecodeError> {
        let v = self.varint()?;
        let left = (self.data.len() - self.pos) as u64;
        if v.saturating_mul(min_item_bytes as u64) > left {
            return Err(self.err("count larger than the data"));
        }
        Ok(v as usize)
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.data.len()).ok_or_else(|| self.err("unexpected end"))?;
        let s = &self.data[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    pub fn str(&mut self) -> Result<String, DecodeError> {
        let n = self.count(1)?;
        let bytes = self.bytes(n)?;
        std::str::from_utf8(bytes).map(str::to_owned).map_err(|_| self.err("invalid UTF-8"))
    }
}
