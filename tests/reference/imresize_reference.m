% Reference values for srkit's MATLAB-compatible bicubic resize, computed with GNU Octave's image
% package (imresize, bicubic, MATLAB-compatible antialiasing), independently of srkit.
% Only scales 1/N and upscales are compared: Octave 2.14 does not renormalise the widened kernel's
% weights to sum to one as MATLAB does, which changes its results for other shrink factors
% (e.g. 10 -> 7 rows) but not for these, where the weights already sum to one. Rerun with:
%   apt-get install octave octave-image
%   octave --no-gui --quiet tests/reference/imresize_reference.m
pkg load image;
% A deterministic 10 x 13 pattern with edges and gradients (row r, column c, 1-based).
[c, r] = meshgrid(1:13, 1:10);
img = mod(r * 7 + c * 13, 17) / 16 + 0.05 * r;
printf('input 10x13: img(r,c) = mod(r*7 + c*13, 17)/16 + 0.05*r\n');
cases = {0.5, 1/3, 0.25, 2};
for k = 1:numel(cases)
  s = cases{k};
  out = imresize(img, s, 'bicubic');
  printf('scale %.10g -> %dx%d\n', s, rows(out), columns(out));
  printf('%.10f ', out'); printf('\n');
end
