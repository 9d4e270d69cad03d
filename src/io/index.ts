// Image input/output: PNG/JPEG codecs, image files as NCHW tensors in [0, 1], and image grids.
export {
  ImageError,
  encodePng,
  decodePng,
  encodeJpeg,
  decodeJpeg,
  decodeImage,
  sniffFormat,
  type RgbImage,
  type ImageFormat,
} from './codecs.js';
export {
  readImage,
  readImageCHW,
  writeImage,
  rgbToCHW,
  chwToRgb,
  chwToTensor,
  tensorToCHW,
  type ImageCHW,
  type ReadImageOptions,
  type WriteImageOptions,
} from './image.js';
export { writeImageGrid, type ImageGridOptions } from './grid.js';
