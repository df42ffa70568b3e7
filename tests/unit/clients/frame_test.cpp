#include "clients/frame.hpp"

#include <gtest/gtest.h>

#include "clients/echo_client_core.hpp"
#include "clients/host_port.hpp"

namespace faultline::clients {
namespace {

std::vector<std::uint8_t> bytes(std::initializer_list<int> list) {
  std::vector<std::uint8_t> out;
  for (const int b : list)
    out.push_back(static_cast<std::uint8_t>(b));
  return out;
}

std::vector<std::uint8_t> stream_of(const std::vector<std::vector<std::uint8_t>>& payloads) {
  std::vector<std::uint8_t> out;
  for (const auto& p : payloads)
    append_frame(out, p);
  return out;
}

TEST(FrameTest, EncodesBigEndianLengthThenPayload) {
  EXPECT_EQ(encode_frame(bytes({7, 8, 9})), bytes({0, 0, 0, 3, 7, 8, 9}));
  const std::vector<std::uint8_t> big(0x010203, 0xaa);
  const auto frame = encode_frame(big);
  EXPECT_EQ(frame.size(), 4u + big.size());
  EXPECT_EQ(std::vector<std::uint8_t>(frame.begin(), frame.begin() + 4), bytes({0, 1, 2, 3}));
}

TEST(FrameTest, DecoderFedByteByByteYieldsEachFrameOnItsLastByte) {
  const std::vector<std::vector<std::uint8_t>> payloads = {
      bytes({1, 2, 3}), {}, std::vector<std::uint8_t>(300, 0x5a), bytes({42})};
  const auto stream = stream_of(payloads);
  FrameDecoder decoder;
  std::vector<std::vector<std::uint8_t>> got;
  std::size_t frame_end = 0;
  std::vector<std::size_t> ends;
  for (const auto& p : payloads)
    ends.push_back(frame_end += 4 + p.size());
  for (std::size_t i = 0; i < stream.size(); ++i) {
    ASSERT_EQ(decoder.feed({&stream[i], 1}), DecodeStatus::ok);
    const bool completes = std::find(ends.begin(), ends.end(), i + 1) != ends.end();
    ASSERT_EQ(decoder.frames_ready(), completes ? 1u : 0u) << "at byte " << i;
    EXPECT_EQ(decoder.mid_frame(), !completes) << "at byte " << i;
    if (completes) got.push_back(decoder.pop_frame());
  }
  EXPECT_EQ(got, payloads);
}

TEST(FrameTest, DecoderSplitsSeveralFramesInOnePieceAndKeepsTheTail) {
  const std::vector<std::vector<std::uint8_t>> payloads = {bytes({1}), bytes({2, 2}),
                                                           bytes({3, 3, 3})};
  auto stream = stream_of(payloads);
  const auto next = encode_frame(bytes({9, 9, 9, 9}));
  stream.insert(stream.end(), next.begin(), next.begin() + 6);  // header + 2 of 4 bytes
  FrameDecoder decoder;
  ASSERT_EQ(decoder.feed(stream), DecodeStatus::ok);
  ASSERT_EQ(decoder.frames_ready(), 3u);
  EXPECT_TRUE(decoder.mid_frame());
  for (const auto& p : payloads)
    EXPECT_EQ(decoder.pop_frame(), p);
  ASSERT_EQ(decoder.feed({next.data() + 6, 2}), DecodeStatus::ok);
  ASSERT_EQ(decoder.frames_ready(), 1u);
  EXPECT_EQ(decoder.pop_frame(), bytes({9, 9, 9, 9}));
  EXPECT_FALSE(decoder.mid_frame());
}

TEST(FrameTest, DecoderRefusesALengthOverTheMaximum) {
  FrameDecoder decoder(1024);
  ASSERT_EQ(decoder.feed(encode_frame(std::vector<std::uint8_t>(1024, 1))), DecodeStatus::ok);
  EXPECT_EQ(decoder.frames_ready(), 1u);
  EXPECT_EQ(decoder.feed(bytes({0, 0, 4, 1})), DecodeStatus::oversize);
  EXPECT_TRUE(decoder.failed());
  EXPECT_EQ(decoder.refused_length(), 1025u);
  EXPECT_EQ(decoder.feed(bytes({0, 0, 0, 0})), DecodeStatus::oversize) << "stays failed";
  decoder.reset();
  EXPECT_EQ(decoder.feed(bytes({0, 0, 0, 0})), DecodeStatus::ok);
  EXPECT_EQ(decoder.frames_ready(), 1u);
}

TEST(FrameTest, DefaultDecoderRefusesMoreThan16MiB) {
  FrameDecoder decoder;
  EXPECT_EQ(decoder.feed(bytes({0x01, 0x00, 0x00, 0x00})), DecodeStatus::ok);  // exactly 16 MiB
  FrameDecoder other;
  EXPECT_EQ(other.feed(bytes({0x01, 0x00, 0x00, 0x01})), DecodeStatus::oversize);
  FrameDecoder garbage;
  EXPECT_EQ(garbage.feed(bytes({'G', 'E', 'T', ' '})), DecodeStatus::oversize);
}

TEST(FrameTest, CounterStopsAtTheEndOfTheNthFrame) {
  const auto stream = stream_of({bytes({1, 1}), {}, bytes({3, 3, 3}), bytes({4})});
  FrameCounter counter;
  // Frames end at 6, 10, 17 and 22.
  EXPECT_EQ(counter.advance({stream.data(), 5}, 2), 5u);
  EXPECT_EQ(counter.frames(), 0u);
  EXPECT_EQ(counter.advance({stream.data() + 5, stream.size() - 5}, 2), 5u);
  EXPECT_EQ(counter.frames(), 2u);
  FrameCounter all;
  for (const auto b : stream)
    all.advance({&b, 1}, UINT64_MAX);
  EXPECT_EQ(all.frames(), 4u);
}

TEST(FrameTest, PayloadIsDeterministicFromSeedAndIndex) {
  EXPECT_EQ(make_payload(7, 3, 10, 500), make_payload(7, 3, 10, 500));
  EXPECT_NE(make_payload(7, 3, 64, 64), make_payload(7, 4, 64, 64));
  EXPECT_NE(make_payload(7, 3, 64, 64), make_payload(8, 3, 64, 64));
  for (std::uint64_t i = 0; i < 200; ++i) {
    const auto size = make_payload(1, i, 10, 20).size();
    EXPECT_GE(size, 10u);
    EXPECT_LE(size, 20u);
  }
  EXPECT_TRUE(make_payload(1, 0, 0, 0).empty());
}

TEST(FrameTest, HostPortParsing) {
  const auto v4 = split_host_port("127.0.0.1:7000");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, "7000");
  const auto v6 = split_host_port("[::1]:0");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_FALSE(split_host_port("localhost"));
  EXPECT_FALSE(split_host_port("host:"));
  EXPECT_FALSE(split_host_port(":80"));
  EXPECT_FALSE(split_host_port("host:99999"));
  EXPECT_FALSE(split_host_port("host:8o"));
}

}  // namespace
}  // namespace faultline::clients
