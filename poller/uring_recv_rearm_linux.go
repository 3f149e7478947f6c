package poller

// rearmAtLimitLocked arms fd's receive again, from the loop, when it
// ended with bytes (at its byte limit, most often) while its owner has
// room for more once this completion's buffer (withBuf) is counted: the
// owner then gets the bytes without the end, and does not read the socket
// with read(2) and arm the next receive itself. The new receive is
// limited to the room left, as ArmRecv's would be, so a paused owner
// still holds at most its limit: with no room left it meets the end, as
// before. What the ended receive did not take is still in the socket,
// where the new one takes it, after this completion's bytes (queued
// first, by the caller).
//
// At the default read credit (8 buffers) a 4 KiB echo met the limit every
// eighth message: two read(2) calls (the bytes, then EAGAIN) and an
// io_uring_enter of ArmRecv's, where now the re-arm rides in the loop's
// next enter.
func (u *URing) rearmAtLimitLocked(fd int, s *uringSlot, withBuf bool) bool {
	room, ok := u.sink.recvRoom(s.token)
	if withBuf {
		room--
	}
	if !ok || room < 1 {
		return false
	}
	s.recvLimit = recvBytes(room)
	return u.recvArmLocked(fd, s) == nil
}
