/** FIFO with O(1) push, shift and unshift (an array with a moving head, compacted as it drains). */
export class Deque<T> {
  private items: T[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** Removes the last item (undoes a push). */
  pop(): T | undefined {
    return this.length > 0 ? this.items.pop() : undefined;
  }

  /** The first item, left in place. */
  peekFirst(): T | undefined {
    return this.length > 0 ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head] = undefined as T; // let the item be collected
    this.head += 1;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Puts an item back at the front (undoes a shift). */
  unshift(item: T): void {
    if (this.head > 0) this.items[--this.head] = item;
    else this.items.unshift(item);
  }

  toArray(): T[] {
    return this.items.slice(this.head);
  }
}
