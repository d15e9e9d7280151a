# {{TITLE}}: per arm, the mean over its seeds (line) and the min–max band over seeds (shaded).
# Written by `attnlab report`; restyle freely and rerun in this folder: gnuplot {{NAME}}.gp
# Data: {{NAME}}.dat, one block per arm (columns: step mean min max n_runs).
array names[{{N}}] = [{{NAMES}}]
set title "{{TITLE}}"
set xlabel "{{XLABEL}}"
set ylabel "{{YLABEL}}"
set key top right box opaque
set grid
set border 3
set tics nomirror
{{LOGX}}
set style fill transparent solid 0.25 noborder
set terminal pngcairo size 1100,700 font "Sans,13" noenhanced
set output "{{NAME}}.png"
plot for [i=0:{{N}}-1] "{{NAME}}.dat" index i using 1:3:4 with filledcurves linecolor (i+1) notitle, \
     for [i=0:{{N}}-1] "{{NAME}}.dat" index i using 1:2 with lines linewidth 2.5 linecolor (i+1) title names[i+1]
set terminal pdfcairo size 6in,3.8in font "Sans,10" noenhanced
set output "{{NAME}}.pdf"
replot
unset output
