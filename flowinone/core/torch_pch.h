// Precompiled header: the LibTorch headers almost every translation unit needs.
// Only headers that are slow to parse and rarely change belong here.
#pragma once
#include <ATen/ATen.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/types.h>
