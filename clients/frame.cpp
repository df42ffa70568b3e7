#include "clients/frame.hpp"

#include <algorithm>

namespace faultline::clients {

void append_frame(std::vector<std::uint8_t>& out, std::span<const std::uint8_t> payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  out.push_back(static_cast<std::uint8_t>(n >> 24));
  out.push_back(static_cast<std::uint8_t>(n >> 16));
  out.push_back(static_cast<std::uint8_t>(n >> 8));
  out.push_back(static_cast<std::uint8_t>(n));
  out.insert(out.end(), payload.begin(), payload.end());
}

std::vector<std::uint8_t> encode_frame(std::span<const std::uint8_t> payload) {
  std::vector<std::uint8_t> out;
  out.reserve(frame_header_size + payload.size());
  append_frame(out, payload);
  return out;
}

DecodeStatus FrameDecoder::feed(std::span<const std::uint8_t> bytes) {
  if (failed_) return DecodeStatus::oversize;
  while (!bytes.empty()) {
    if (!have_length_) {
      const std::size_t take = std::min(frame_header_size - header_fill_, bytes.size());
      std::copy_n(bytes.begin(), take, header_ + header_fill_);
      header_fill_ += take;
      bytes = bytes.subspan(take);
      if (header_fill_ < frame_header_size) break;
      length_ = (std::uint32_t{header_[0]} << 24) | (std::uint32_t{header_[1]} << 16) |
                (std::uint32_t{header_[2]} << 8) | std::uint32_t{header_[3]};
      if (length_ > max_payload_) {
        failed_ = true;
        refused_length_ = length_;
        return DecodeStatus::oversize;
      }
      have_length_ = true;
      header_fill_ = 0;
      payload_.clear();
      payload_.reserve(length_);
    }
    const std::size_t take = std::min<std::size_t>(length_ - payload_.size(), bytes.size());
    payload_.insert(payload_.end(), bytes.begin(), bytes.begin() + take);
    bytes = bytes.subspan(take);
    if (payload_.size() == length_) {
      ready_.push_back(std::move(payload_));
      payload_ = {};
      have_length_ = false;
    }
  }
  return DecodeStatus::ok;
}

std::vector<std::uint8_t> FrameDecoder::pop_frame() {
  std::vector<std::uint8_t> frame = std::move(ready_.front());
  ready_.pop_front();
  return frame;
}

void FrameDecoder::reset() {
  header_fill_ = 0;
  have_length_ = false;
  length_ = 0;
  payload_.clear();
  ready_.clear();
  failed_ = false;
  refused_length_ = 0;
}

std::size_t FrameCounter::advance(std::span<const std::uint8_t> bytes, std::uint64_t frame_limit) {
  std::size_t pos = 0;
  while (pos < bytes.size() && frames_ < frame_limit) {
    if (!in_payload_) {
      length_ = (length_ << 8) | bytes[pos++];
      if (++header_fill_ < frame_header_size) continue;
      header_fill_ = 0;
      payload_left_ = length_;
      length_ = 0;
      in_payload_ = true;
    }
    const std::uint64_t take = std::min<std::uint64_t>(payload_left_, bytes.size() - pos);
    pos += static_cast<std::size_t>(take);
    payload_left_ -= take;
    if (payload_left_ == 0) {
      in_payload_ = false;
      ++frames_;
    }
  }
  return pos;
}

}  // namespace faultline::clients
