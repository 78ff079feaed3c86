import { useEffect, useRef } from 'react';
import type { RgbaImage } from '../../engine/protocol';
import { paintCanvas } from '../imageIO';

interface Props {
  image: RgbaImage;
  label: string;
  className?: string;
  testId?: string;
  level?: number | 'lag';
  index?: number;
}

/** One generated or prepared image, drawn 1:1 into a canvas and enlarged by CSS without smoothing. */
export function RgbaCanvas({ image, label, className, testId, level, index }: Props) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current) paintCanvas(ref.current, image);
  }, [image]);
  return (
    <canvas
      ref={ref}
      width={image.width}
      height={image.height}
      className={`pixel-image ${className ?? ''}`}
      role="img"
      aria-label={label}
      data-testid={testId}
      data-level={level}
      data-index={index}
    />
  );
}

/** The empty cell shown while a sample is still being generated. */
export function PendingCell({ label }: { label: string }) {
  return <div className="pixel-image pending" role="img" aria-label={label} aria-busy="true" />;
}
