// Picture transforms (resampling, cropping, channels), JPEG decoding of good and hostile files,
// and the image-folder and paired-folder datasets built from pictures written by the test.
#include <gtest/gtest.h>
#include <torch/types.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

#include "flowinone/core/atomic_file.h"
#include "flowinone/core/errors.h"
#include "flowinone/data/image_files.h"
#include "flowinone/data/image_folder.h"
#include "flowinone/data/image_transforms.h"
#include "flowinone/data/paired_folder.h"
#include "flowinone/io/jpeg.h"
#include "flowinone/io/png.h"
#include "temp_dir.h"

namespace fs = std::filesystem;

namespace {

// A picture whose pixel (x, y) channel c is (x * 7 + y * 3 + c * 50) mod 256.
fi::Image pattern(int width, int height, int channels) {
  fi::Image image(width, height, channels);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < channels; ++c)
        image.at(x, y)[c] = std::uint8_t((x * 7 + y * 3 + c * 50) % 256);
    }
  }
  return image;
}

void expect_file_error(const std::function<void()>& call, const std::string& fragment) {
  try {
    call();
    FAIL() << "no FileError; expected one mentioning " << fragment;
  } catch (const fi::FileError& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

void make_dir(const std::string& path) { fs::create_directories(path); }

}  // namespace

TEST(ImageTransforms, AreaAveragingShrinksAFinePatternToItsMean) {
  // A one-pixel checkerboard of 0 and 255: area averaging gives its mean everywhere; point
  // sampling (or bilinear at exactly 4:1) would give 0 or 255.
  fi::Image board(64, 64, 1);
  for (int y = 0; y < 64; ++y)
    for (int x = 0; x < 64; ++x) board.at(x, y)[0] = (x + y) % 2 == 0 ? 0 : 255;
  for (int size : {16, 10, 7}) {
    const fi::Image small = fi::resize_center_crop(board, size);
    ASSERT_EQ(small.width, size);
    ASSERT_EQ(small.height, size);
    for (std::uint8_t value : small.pixels) EXPECT_NEAR(value, 127.5, 13.0) << size;
  }
  // At an integer factor every output pixel averages exactly 2 zeros and 2 255s per 2x2 block.
  for (std::uint8_t value : fi::resize_center_crop(board, 32).pixels)
    EXPECT_NEAR(value, 127.5, 0.6);
}

TEST(ImageTransforms, BilinearEnlargingInterpolatesARampExactly) {
  // Pixel value 10 + 20 x: enlarging 8 -> 29 wide keeps it linear in the source coordinate
  // (k + 0.5) * 8 / 29 - 0.5 inside the picture.
  fi::Image ramp(8, 8, 1);
  for (int y = 0; y < 8; ++y)
    for (int x = 0; x < 8; ++x) ramp.at(x, y)[0] = std::uint8_t(10 + 20 * x);
  const fi::Image big = fi::resize_center_crop(ramp, 29);
  for (int k = 0; k < 29; ++k) {
    const double source = std::clamp((k + 0.5) * 8 / 29 - 0.5, 0.0, 7.0);
    EXPECT_NEAR(big.at(k, 13)[0], 10 + 20 * source, 0.51) << k;
    EXPECT_EQ(big.at(k, 0)[0], big.at(k, 28)[0]);  // rows are all alike
  }
}

TEST(ImageTransforms, CentreCropKeepsTheMiddleOfTheLongerSide) {
  // 30 x 10 in three vertical bands: the shorter side is already 10, so the crop is the middle
  // band, untouched.
  fi::Image bands(30, 10, 3);
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 30; ++x) bands.at(x, y)[1] = x < 10 ? 0 : x < 20 ? 200 : 50;
  const fi::Image crop = fi::resize_center_crop(bands, 10);
  ASSERT_EQ(crop.width, 10);
  for (int y = 0; y < 10; ++y)
    for (int x = 0; x < 10; ++x) EXPECT_EQ(crop.at(x, y)[1], 200);
  // A tall picture: 12 x 48 -> 6 x 24 -> rows 9..14 of the half-size picture.
  fi::Image tall(12, 48, 1);
  for (int y = 0; y < 48; ++y)
    for (int x = 0; x < 12; ++x) tall.at(x, y)[0] = std::uint8_t(y * 5);
  const fi::Image tall_crop = fi::resize_center_crop(tall, 6);
  for (int k = 0; k < 6; ++k) {
    const int row = 9 + k;  // covers source rows 2 row and 2 row + 1
    EXPECT_NEAR(tall_crop.at(0, k)[0], (2 * row + 2 * row + 1) * 5 / 2.0, 0.51) << k;
  }
}

TEST(ImageTransforms, ChannelConversions) {
  fi::Image rgba(2, 1, 4);
  const std::uint8_t values[8] = {10, 20, 30, 255, 0, 0, 0, 0};
  std::copy(values, values + 8, rgba.pixels.begin());
  const fi::Image gray = fi::convert_channels(rgba, 1);
  EXPECT_EQ(gray.pixels[0], std::lround(0.299 * 10 + 0.587 * 20 + 0.114 * 30));
  EXPECT_EQ(gray.pixels[1], 255);  // fully transparent: the white background
  const fi::Image rgb = fi::convert_channels(gray, 3);
  EXPECT_EQ(rgb.pixels, (std::vector<std::uint8_t>{18, 18, 18, 255, 255, 255}));
  EXPECT_THROW(fi::convert_channels(gray, 2), std::invalid_argument);

  const fi::Image picture = pattern(5, 3, 3);
  const torch::Tensor tensor = fi::image_to_tensor(picture);
  ASSERT_EQ(tensor.sizes(), (std::vector<std::int64_t>{3, 3, 5}));
  EXPECT_NEAR(tensor[2][1][4].item<float>(), picture.at(4, 1)[2] / 127.5 - 1, 1e-6);
  EXPECT_EQ(fi::tensor_to_image(tensor).pixels, picture.pixels);
  EXPECT_EQ(fi::flip_horizontal(fi::flip_horizontal(picture)).pixels, picture.pixels);
  EXPECT_EQ(fi::flip_horizontal(picture).at(0, 2)[1], picture.at(4, 2)[1]);
}

TEST(Jpeg, RoundTripIsCloseForGrayAndRgb) {
  if (!fi::jpeg_supported()) GTEST_SKIP() << "built without libjpeg";
  for (int channels : {1, 3}) {
    // Smooth content: JPEG at quality 95 stays within a few levels of it.
    fi::Image image(40, 24, channels);
    for (int y = 0; y < 24; ++y)
      for (int x = 0; x < 40; ++x)
        for (int c = 0; c < channels; ++c)
          image.at(x, y)[c] = std::uint8_t(20 + 3 * x + 2 * y + 30 * c);
    const fi::Image back = fi::decode_jpeg(fi::encode_jpeg(image, 95), "memory");
    ASSERT_EQ(back.width, 40);
    ASSERT_EQ(back.height, 24);
    ASSERT_EQ(back.channels, channels);
    double worst = 0;
    for (std::size_t i = 0; i < image.pixels.size(); ++i) {
      worst = std::max(worst, std::abs(double(back.pixels[i]) - image.pixels[i]));
    }
    EXPECT_LT(worst, 12) << channels;
  }
}

TEST(Jpeg, HostileFilesAreFileErrorsNamingTheSource) {
  if (!fi::jpeg_supported()) GTEST_SKIP() << "built without libjpeg";
  const std::string good = fi::encode_jpeg(pattern(64, 48, 3), 90);
  expect_file_error([&] { fi::decode_jpeg(good.substr(0, good.size() / 2), "half.jpg"); },
                    "half.jpg");
  expect_file_error([&] { fi::decode_jpeg(good.substr(0, 40), "head.jpg"); }, "head.jpg");
  expect_file_error([&] { fi::decode_jpeg("\xFF\xD8\xFF garbage", "garbage.jpg"); }, "garbage.jpg");
  expect_file_error([&] { fi::decode_jpeg("not a jpeg", "text.jpg"); }, "not a JPEG");
  // Patch the frame header (SOF0: FF C0, length, precision, height, width) to 60000 x 60000:
  // refused from the header, before the 10 GB of pixels would be allocated.
  std::string huge = good;
  const std::size_t sof = huge.find("\xFF\xC0");
  ASSERT_NE(sof, std::string::npos);
  for (std::size_t at : {sof + 5, sof + 7}) {
    huge[at] = char(60000 >> 8);
    huge[at + 1] = char(60000 & 0xff);
  }
  expect_file_error([&] { fi::decode_jpeg(huge, "huge.jpg"); }, "outside the limits");
}

TEST(ImageFolder, MixedPicturesComeOutAtTheRequestedShapeAndRange) {
  const fi::testing::TempDir root("folder");
  // Classes created in reverse order: labels follow the sorted names.
  make_dir(root.file("zebra"));
  make_dir(root.file("ant"));
  fi::write_png(root.file("zebra/a_gray.png"), pattern(30, 50, 1));
  fi::write_png(root.file("zebra/b_rgba.png"), pattern(17, 9, 4));
  fi::Image red(64, 40, 3);
  for (std::size_t p = 0; p < red.pixels.size(); p += 3) red.pixels[p] = 255;
  fi::write_png(root.file("ant/red.png"), red);
  int num_jpeg = 0;
  if (fi::jpeg_supported()) {
    fi::write_jpeg(root.file("ant/photo.jpg"), pattern(100, 80, 3));
    fi::write_jpeg(root.file("zebra/c_gray.jpeg"), pattern(13, 31, 1));
    num_jpeg = 2;
  }
  fi::write_file_atomic(root.file("zebra/notes.txt"), "not a picture");
  fi::write_file_atomic(root.file("zebra/.hidden"), "ignored silently");

  for (int channels : {1, 3}) {
    fi::ImageFolderOptions options;
    options.size = 24;
    options.channels = channels;
    const fi::ImageFolderDataset dataset(root.path(), options);
    ASSERT_EQ(dataset.size(), 3 + num_jpeg);
    EXPECT_EQ(dataset.class_names(), (std::vector<std::string>{"ant", "zebra"}));
    EXPECT_EQ(dataset.num_classes(), 2);
    ASSERT_EQ(dataset.warnings().size(), 1u);
    EXPECT_NE(dataset.warnings()[0].find("notes.txt"), std::string::npos);
    for (std::int64_t i = 0; i < dataset.size(); ++i) {
      const fi::ImageExample example = dataset.get(i);
      ASSERT_EQ(example.image.sizes(), (std::vector<std::int64_t>{channels, 24, 24}));
      EXPECT_EQ(example.image.scalar_type(), torch::kFloat32);
      EXPECT_GE(example.image.min().item<float>(), -1.0f);
      EXPECT_LE(example.image.max().item<float>(), 1.0f);
      const bool in_ant = dataset.files()[i].find("/ant/") != std::string::npos;
      EXPECT_EQ(example.label, in_ant ? 0 : 1) << dataset.files()[i];
    }
    // The pure red picture: (1, -1, -1) in RGB, its luma in gray.
    const auto red_index =
        std::find(dataset.files().begin(), dataset.files().end(), root.file("ant/red.png")) -
        dataset.files().begin();
    const torch::Tensor image = dataset.get(red_index).image;
    if (channels == 3) {
      EXPECT_TRUE(torch::allclose(image[0], torch::ones({24, 24})));
      EXPECT_TRUE(torch::allclose(image[1], -torch::ones({24, 24})));
    } else {
      EXPECT_NEAR(image.mean().item<float>(), std::lround(0.299 * 255) / 127.5 - 1, 1e-5);
    }
    const fi::ImageBatch batch = dataset.get_batch({red_index, 0}, {true, false});
    EXPECT_EQ(batch.images.sizes(), (std::vector<std::int64_t>{2, channels, 24, 24}));
    EXPECT_TRUE(torch::equal(batch.images[0], image.flip({2})));
    EXPECT_TRUE(torch::equal(batch.images[1], dataset.get(0).image));
  }

  fi::ImageFolderOptions strict;
  strict.strict = true;
  expect_file_error([&] { fi::ImageFolderDataset(root.path(), strict); }, "notes.txt");
}

TEST(ImageFolder, UnlabelledFolderAndFilesRecognisedByContent) {
  const fi::testing::TempDir root("folder");
  fi::write_png(root.file("renamed.txt"), pattern(8, 8, 3));   // a PNG whatever its name
  fi::write_file_atomic(root.file("fake.png"), "plain text");  // not a PNG whatever its name
  fi::write_png(root.file("b.png"), pattern(9, 12, 3));
  const fi::ImageFolderDataset dataset(root.path(), {16, 3, false});
  ASSERT_EQ(dataset.size(), 2);
  EXPECT_EQ(dataset.num_classes(), 0);
  EXPECT_EQ(dataset.files()[0], root.file("b.png"));
  EXPECT_EQ(dataset.get(1).label, -1);
  ASSERT_EQ(dataset.warnings().size(), 1u);
  EXPECT_NE(dataset.warnings()[0].find("fake.png"), std::string::npos);
  EXPECT_THROW(dataset.get(2), std::out_of_range);

  // A picture file that is corrupt inside is found at get(), naming the file.
  const std::string png = fi::encode_png(pattern(20, 20, 3));
  fi::write_file_atomic(root.file("b.png"), png.substr(0, png.size() - 30));
  expect_file_error([&] { dataset.get(0); }, root.file("b.png"));

  const fi::testing::TempDir empty("folder");
  expect_file_error([&] { fi::ImageFolderDataset(empty.path()); }, "no PNG or JPEG");
  EXPECT_THROW(fi::ImageFolderDataset(root.path(), {0, 3, false}), std::invalid_argument);
  EXPECT_THROW(fi::ImageFolderDataset(root.path(), {16, 4, false}), std::invalid_argument);
}

TEST(ImageFolder, JpegWithoutLibjpegIsAClearError) {
  if (fi::jpeg_supported()) GTEST_SKIP() << "built with libjpeg";
  const fi::testing::TempDir root("folder");
  fi::write_file_atomic(root.file("photo.jpg"), std::string("\xFF\xD8\xFF\xE0", 4) + "rest");
  expect_file_error([&] { fi::ImageFolderDataset(root.path()); }, "libjpeg");
}

TEST(PairedFolder, PairsByNameAndListsTheUnmatched) {
  const fi::testing::TempDir root("paired");
  make_dir(root.file("A"));
  make_dir(root.file("B"));
  const std::string target_ext = fi::jpeg_supported() ? ".jpg" : ".png";
  for (const std::string name : {"one", "two", "three"}) {
    fi::write_png(root.file("A/" + name + ".png"), pattern(20, 30, 1));
    const fi::Image target = pattern(40, 20, 3);
    if (fi::jpeg_supported()) {
      fi::write_jpeg(root.file("B/" + name + target_ext), target);
    } else {
      fi::write_png(root.file("B/" + name + target_ext), target);
    }
  }
  fi::PairedFolderOptions options;
  options.size = 16;
  options.input_channels = 1;
  options.target_channels = 3;
  const fi::PairedFolderDataset dataset(root.path(), options);
  ASSERT_EQ(dataset.size(), 3);
  EXPECT_EQ(dataset.inputs()[0], root.file("A/one.png"));
  EXPECT_EQ(dataset.targets()[0], root.file("B/one" + target_ext));
  EXPECT_EQ(dataset.inputs()[2], root.file("A/two.png"));
  EXPECT_EQ(dataset.target_channels(), 3);
  const fi::ImageBatch batch = dataset.get_batch({2, 0}, {true, false});
  EXPECT_EQ(batch.images.sizes(), (std::vector<std::int64_t>{2, 1, 16, 16}));
  ASSERT_EQ(batch.targets.sizes(), (std::vector<std::int64_t>{2, 3, 16, 16}));
  const fi::ImageExample two = dataset.get(2);
  EXPECT_TRUE(torch::equal(batch.images[0], two.image.flip({2})));
  EXPECT_TRUE(torch::equal(batch.targets[0], two.target.flip({2})));
  EXPECT_TRUE(torch::equal(batch.targets[1], dataset.get(0).target));
  EXPECT_EQ(batch.labels[0].item<std::int64_t>(), -1);

  fi::write_png(root.file("A/four.png"), pattern(8, 8, 3));
  fi::write_png(root.file("B/five.png"), pattern(8, 8, 3));
  try {
    fi::PairedFolderDataset unmatched(root.path(), options);
    FAIL() << "unmatched names accepted";
  } catch (const fi::FileError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("A only: four"), std::string::npos) << message;
    EXPECT_NE(message.find("B only: five"), std::string::npos) << message;
  }
  fi::write_png(root.file("B/four.png"), pattern(8, 8, 3));
  fi::write_png(root.file("A/five.png"), pattern(8, 8, 3));
  fi::write_png(root.file("A/five.PNG"), pattern(8, 8, 3));
  expect_file_error([&] { fi::PairedFolderDataset(root.path(), options); }, "two pictures named");
  expect_file_error([&] { fi::PairedFolderDataset(root.file("A"), options); },
                    "expected sub-folders A");
}
