//! Frames held to leave in one system call (`PacketSocket::send_batch`): a Master of 255 VRIDs
//! at 10 ms has 255 adverts due at once, 25,500 `send`s a second if each left on its own.

/// Complete frames in the order they were added, stored back to back.
#[derive(Debug, Default)]
pub struct FrameBatch {
    bytes: Vec<u8>,
    /// Where each frame ends in `bytes`.
    ends: Vec<usize>,
}

impl FrameBatch {
    /// Adds a copy of `frame` after the others.
    pub fn push(&mut self, frame: &[u8]) {
        self.bytes.extend_from_slice(frame);
        self.ends.push(self.bytes.len());
    }

    /// How many frames are held.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether no frame is held.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The frames in order.
    pub fn frames(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts
            .zip(self.ends.iter().copied())
            .map(|(start, end)| &self.bytes[start..end])
    }

    /// Forgets every frame and keeps the memory for the next batch.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_back_in_order_and_whole() {
        let mut batch = FrameBatch::default();
        assert!(batch.is_empty());
        batch.push(&[1, 2, 3]);
        batch.push(&[]);
        batch.push(&[4]);
        assert_eq!(batch.len(), 3);
        let frames: Vec<&[u8]> = batch.frames().collect();
        assert_eq!(frames, [&[1, 2, 3][..], &[][..], &[4][..]]);
        batch.clear();
        assert!(batch.is_empty());
        assert_eq!(batch.frames().count(), 0);
    }
}
