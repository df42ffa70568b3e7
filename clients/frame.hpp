// The echo apps' wire format: a 4-byte big-endian payload length, then the payload. TCP is a
// byte stream, so a reader must reassemble a frame from any number of recv() pieces and split
// a piece holding several frames; FrameDecoder does exactly that and nothing else, so it can
// be tested without a socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

namespace faultline::clients {

inline constexpr std::size_t frame_header_size = 4;
// A length above this is a corrupt stream, not a message: refusing it keeps a garbage prefix
// from making the reader wait for (and allocate) gigabytes.
inline constexpr std::uint32_t default_max_payload = 16u * 1024 * 1024;

void append_frame(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> payload);
std::vector<std::uint8_t> encode_frame(std::span<const std::uint8_t> payload);

enum class DecodeStatus { ok, oversize };

// Incremental decoder: feed it whatever recv() returned; complete payloads queue up in order.
class FrameDecoder {
 public:
  explicit FrameDecoder(std::uint32_t max_payload = default_max_payload)
      : max_payload_(max_payload) {}

  // Consumes every byte given. After `oversize` the decoder stays failed until reset().
  DecodeStatus feed(std::span<const std::uint8_t> bytes);

  std::size_t frames_ready() const { return ready_.size(); }
  std::vector<std::uint8_t> pop_frame();
  // True when bytes of a not yet complete frame are buffered.
  bool mid_frame() const { return header_fill_ > 0 || have_length_; }
  bool failed() const { return failed_; }
  // The refused length, for the error message.
  std::uint32_t refused_length() const { return refused_length_; }
  void reset();

 private:
  std::uint32_t max_payload_;
  std::uint8_t header_[frame_header_size] = {};
  std::size_t header_fill_ = 0;
  bool have_length_ = false;
  std::uint32_t length_ = 0;
  std::vector<std::uint8_t> payload_;
  std::deque<std::vector<std::uint8_t>> ready_;
  bool failed_ = false;
  std::uint32_t refused_length_ = 0;
};

// Counts frames in a stream without keeping their bytes: the echo server only needs to know
// where the Nth frame ends (--close-after / --rst-after).
class FrameCounter {
 public:
  // Walks `bytes` and returns how many of them belong to frames up to and including the
  // `frame_limit`-th frame counted since the start; the rest is beyond the limit.
  std::size_t advance(std::span<const std::uint8_t> bytes, std::uint64_t frame_limit);
  std::uint64_t frames() const { return frames_; }

 private:
  std::uint64_t frames_ = 0;
  std::size_t header_fill_ = 0;
  std::uint32_t length_ = 0;
  std::uint64_t payload_left_ = 0;
  bool in_payload_ = false;
};

}  // namespace faultline::clients
