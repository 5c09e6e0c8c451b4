/* The kernels of cells_impl.h, by number (addon.c binds one function per kernel and variant). */
#ifndef WEFT_CELLS_H
#define WEFT_CELLS_H
enum {
  WEFT_SIGMOID = 1,
  WEFT_TANH,
  WEFT_LSTM_FORWARD,
  WEFT_LSTM_BACKWARD,
  WEFT_RNN_FORWARD,
  WEFT_RNN_BACKWARD,
  WEFT_GRU_FORWARD,
  WEFT_GRU_BACKWARD,
};
#endif
