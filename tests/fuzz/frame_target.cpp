// Fuzz target: the echo apps' frame decoder and counter (clients/frame.hpp).
#include <algorithm>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "clients/frame.hpp"
#include "tests/fuzz/fuzz_targets.hpp"

namespace faultline::fuzz {
namespace {

using Bytes = std::vector<std::uint8_t>;

// Reading the whole stream at once: complete frames, whether a length over the limit was
// met (and which), and how many bytes of an incomplete frame are left over.
struct Reference {
  std::vector<Bytes> frames;
  std::vector<std::size_t> frame_ends;  // stream offset just past each frame
  std::optional<std::uint32_t> oversize;
  std::size_t leftover = 0;
};

Reference reference(std::span<const std::uint8_t> s, std::uint32_t max_payload) {
  Reference r;
  std::size_t pos = 0;
  while (s.size() - pos >= clients::frame_header_size) {
    std::uint32_t len = (std::uint32_t{s[pos]} << 24) | (std::uint32_t{s[pos + 1]} << 16) |
                        (std::uint32_t{s[pos + 2]} << 8) | std::uint32_t{s[pos + 3]};
    if (len > max_payload) {
      r.oversize = len;
      return r;
    }
    if (s.size() - pos - clients::frame_header_size < len) break;
    auto first = s.begin() + static_cast<std::ptrdiff_t>(pos + clients::frame_header_size);
    r.frames.emplace_back(first, first + len);
    pos += clients::frame_header_size + len;
    r.frame_ends.push_back(pos);
  }
  r.leftover = s.size() - pos;
  return r;
}

// Cuts `n` bytes into pieces whose sizes come from `cuts` (cycled), like recv() would.
std::vector<std::size_t> piece_sizes(std::span<const std::uint8_t> cuts, std::size_t n) {
  std::vector<std::size_t> out;
  std::size_t i = 0;
  while (n > 0) {
    std::size_t want = cuts.empty() ? n : std::size_t{cuts[i++ % cuts.size()]} + 1;
    if (!cuts.empty() && cuts[(i - 1) % cuts.size()] == 0xff) want = n;  // "everything left"
    want = std::min(want, n);
    out.push_back(want);
    n -= want;
  }
  return out;
}

}  // namespace

// Input: [max_payload selector][cut count K][K cut bytes][stream...]
void fuzz_frame(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return;
  const std::uint8_t sel = data[0];
  // Small limits reach the oversize path; 0xff keeps the real default (16 MiB).
  const std::uint32_t max_payload = sel == 0xff ? clients::default_max_payload : sel * 7u;
  std::size_t k = std::min<std::size_t>(data[1], size - 2);
  std::span<const std::uint8_t> cuts(data + 2, k);
  std::span<const std::uint8_t> stream(data + 2 + k, size - 2 - k);

  const Reference ref = reference(stream, max_payload);

  clients::FrameDecoder dec(max_payload);
  std::vector<Bytes> got;
  bool refused = false;
  std::size_t off = 0;
  for (std::size_t n : piece_sizes(cuts, stream.size())) {
    auto st = dec.feed(stream.subspan(off, n));
    off += n;
    while (dec.frames_ready() > 0)
      got.push_back(dec.pop_frame());
    if (st == clients::DecodeStatus::oversize) {
      refused = true;
      FUZZ_CHECK(dec.failed(), "oversize without failed()");
      // Stays failed until reset().
      FUZZ_CHECK(dec.feed(stream.subspan(off)) == clients::DecodeStatus::oversize, "sticky");
      break;
    }
  }
  FUZZ_CHECK(refused == ref.oversize.has_value(), "oversize verdict differs");
  if (refused) FUZZ_CHECK(dec.refused_length() == *ref.oversize, "refused length");
  FUZZ_CHECK(got == ref.frames, "frames differ from the reference");
  if (!refused) {
    FUZZ_CHECK(dec.mid_frame() == (ref.leftover > 0), "mid_frame");
  }

  // Re-encode what was decoded, decode it again after reset(): the same frames.
  Bytes encoded;
  for (const auto& f : got)
    clients::append_frame(encoded, f);
  dec.reset();
  FUZZ_CHECK(!dec.failed() && !dec.mid_frame() && dec.frames_ready() == 0, "reset");
  FUZZ_CHECK(dec.feed(encoded) == clients::DecodeStatus::ok, "re-encoded frames refused");
  std::vector<Bytes> again;
  while (dec.frames_ready() > 0)
    again.push_back(dec.pop_frame());
  FUZZ_CHECK(again == got, "re-encode round trip");
  FUZZ_CHECK(!dec.mid_frame(), "re-encoded stream ends mid-frame");

  // FrameCounter (no length limit): with a limit of L frames it consumes exactly up to the
  // end of the L-th frame, whatever the cuts.
  if (!ref.oversize) {
    const std::uint64_t limit = cuts.empty() ? 1 : cuts[0] % 8 + 1;
    clients::FrameCounter counter;
    std::size_t consumed = 0;
    off = 0;
    for (std::size_t n : piece_sizes(cuts, stream.size())) {
      consumed += counter.advance(stream.subspan(off, n), limit);
      off += n;
    }
    const std::size_t whole = ref.frame_ends.size();
    if (whole >= limit) {
      FUZZ_CHECK(counter.frames() == limit, "counter frames at limit");
      FUZZ_CHECK(consumed == ref.frame_ends[limit - 1], "counter boundary");
    } else {
      FUZZ_CHECK(counter.frames() == whole, "counter frames");
      FUZZ_CHECK(consumed == stream.size(), "counter consumed all");
    }
  }
}

}  // namespace faultline::fuzz
